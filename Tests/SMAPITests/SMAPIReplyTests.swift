import SM
import SMAPI
import Testing
import XMLRPC

/// Replies must be the exact stdout of SM's Python: `xmlrpc.client.dumps` plus the newline
/// `print` adds. Expected strings come from SMAPI.md §1.7 and from CPython's `xmlrpc.client`.
@Suite struct SMAPIReplyTests {
    @Test func nilIsSMsReturnNilPrinted() {
        #expect(
            SMAPIReply.nil.encoded()
                == "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><nil/></value></param>\n</params>\n</methodResponse>\n\n"
        )
    }

    @Test func faultIsSMsSRExceptionPrintedWithItsBlankLine() {
        #expect(
            SMAPIReply.fault(code: 22, string: "[UnitTest] SRException thrown").encoded()
                == "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>22</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>[UnitTest] SRException thrown</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n\n"
        )
    }

    @Test func faultFromAnSRError() {
        let reply = SMAPIReply.fault(SRError(.vdiMissing, opterr: "a<b"))
        #expect(reply == .fault(code: 144, string: "VDI could not be found [opterr=a<b]"))
        #expect(reply.encoded().contains("<value><string>VDI could not be found [opterr=a&lt;b]</string></value>"))
    }

    @Test func vdiIsTheLocationUUIDStruct() {
        let uuid = "3f0e6c2a-1d2b-4c3d-9e8f-0a1b2c3d4e5f"
        #expect(
            SMAPIReply.vdi(location: uuid, uuid: uuid).encoded() == """
                <?xml version='1.0'?>
                <methodResponse>
                <params>
                <param>
                <value><struct>
                <member>
                <name>location</name>
                <value><string>3f0e6c2a-1d2b-4c3d-9e8f-0a1b2c3d4e5f</string></value>
                </member>
                <member>
                <name>uuid</name>
                <value><string>3f0e6c2a-1d2b-4c3d-9e8f-0a1b2c3d4e5f</string></value>
                </member>
                </struct></value>
                </param>
                </params>
                </methodResponse>


                """)
    }

    @Test func stringIsSRContentTypesReply() {
        #expect(
            SMAPIReply.string("vhd").encoded()
                == "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><string>vhd</string></value>\n</param>\n</params>\n</methodResponse>\n\n"
        )
    }

    @Test func driverInfoMatchesUtilSRGetDriverInfo() {
        let info = DriverInfo(
            name: "Local EXT3 VHD",
            description:
                "SR plugin which represents disks as VHD files stored on a local EXT3 filesystem, created inside an LVM volume",
            vendor: "Citrix Systems Inc", copyright: "(C) 2008 Citrix Systems Inc",
            capabilities: [
                "SR_PROBE", "SR_UPDATE", "SR_SUPPORTS_LOCAL_CACHING", "VDI_CREATE", "VDI_DELETE", "VDI_ATTACH",
                "VDI_DETACH",
                "VDI_UPDATE", "VDI_CLONE", "VDI_SNAPSHOT", "VDI_RESIZE", "VDI_MIRROR", "VDI_GENERATE_CONFIG",
                "VDI_RESET_ON_BOOT/2", "ATOMIC_PAUSE", "VDI_CONFIG_CBT", "THIN_PROVISIONING", "VDI_READ_CACHING",
            ],
            configuration: [.init("device", "local device path (required) (e.g. /dev/sda3)")])
        // CPython running SM's util.sr_get_driver_info on these values, then print().
        let expected =
            "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n<member>\n<name>name</name>\n<value><string>Local EXT3 VHD</string></value>\n</member>\n<member>\n<name>description</name>\n<value><string>SR plugin which represents disks as VHD files stored on a local EXT3 filesystem, created inside an LVM volume</string></value>\n</member>\n<member>\n<name>vendor</name>\n<value><string>Citrix Systems Inc</string></value>\n</member>\n<member>\n<name>copyright</name>\n<value><string>(C) 2008 Citrix Systems Inc</string></value>\n</member>\n<member>\n<name>driver_version</name>\n<value><string>1.0</string></value>\n</member>\n<member>\n<name>required_api_version</name>\n<value><string>1.0</string></value>\n</member>\n<member>\n<name>capabilities</name>\n<value><array><data>\n<value><string>SR_PROBE</string></value>\n<value><string>SR_UPDATE</string></value>\n<value><string>SR_SUPPORTS_LOCAL_CACHING</string></value>\n<value><string>VDI_CREATE</string></value>\n<value><string>VDI_DELETE</string></value>\n<value><string>VDI_ATTACH</string></value>\n<value><string>VDI_DETACH</string></value>\n<value><string>VDI_UPDATE</string></value>\n<value><string>VDI_CLONE</string></value>\n<value><string>VDI_SNAPSHOT</string></value>\n<value><string>VDI_RESIZE</string></value>\n<value><string>VDI_MIRROR</string></value>\n<value><string>VDI_GENERATE_CONFIG</string></value>\n<value><string>VDI_RESET_ON_BOOT/2</string></value>\n<value><string>ATOMIC_PAUSE</string></value>\n<value><string>VDI_CONFIG_CBT</string></value>\n<value><string>THIN_PROVISIONING</string></value>\n<value><string>VDI_READ_CACHING</string></value>\n<value><string>VDI_ACTIVATE</string></value>\n<value><string>VDI_DEACTIVATE</string></value>\n</data></array></value>\n</member>\n<member>\n<name>configuration</name>\n<value><array><data>\n<value><struct>\n<member>\n<name>key</name>\n<value><string>device</string></value>\n</member>\n<member>\n<name>description</name>\n<value><string>local device path (required) (e.g. /dev/sda3)</string></value>\n</member>\n</struct></value>\n</data></array></value>\n</member>\n</struct></value>\n</param>\n</params>\n</methodResponse>\n\n"
        #expect(SMAPIReply.driverInfo(info).encoded() == expected)
    }

    @Test func attachMatchesBlktap2sStruct() {
        let info = AttachInfo(
            params: "/dev/sm/backend/s/v", paramsNBD: "nbd:unix:/run/x:exportname=v", oDirect: false,
            oDirectReason: "SR_NOT_SUPPORTED", xenstoreData: ["vdi-type": "vhd", "storage-type": "ext"])
        #expect(
            SMAPIReply.attach(info).encoded()
                == "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n<member>\n<name>params</name>\n<value><string>/dev/sm/backend/s/v</string></value>\n</member>\n<member>\n<name>params_nbd</name>\n<value><string>nbd:unix:/run/x:exportname=v</string></value>\n</member>\n<member>\n<name>o_direct</name>\n<value><boolean>0</boolean></value>\n</member>\n<member>\n<name>o_direct_reason</name>\n<value><string>SR_NOT_SUPPORTED</string></value>\n</member>\n<member>\n<name>xenstore_data</name>\n<value><struct>\n<member>\n<name>storage-type</name>\n<value><string>ext</string></value>\n</member>\n<member>\n<name>vdi-type</name>\n<value><string>vhd</string></value>\n</member>\n</struct></value>\n</member>\n</struct></value>\n</param>\n</params>\n</methodResponse>\n\n"
        )
    }

    @Test func generatedConfigMatchesFileSRGenerateConfig() {
        let reply = SMAPIReply.generatedConfig(
            deviceConfig: ["device": "/dev/sdb", "SRmaster": "true"], srUUID: "13c4384e-897b-e745-6b3e-9a89c06537be",
            vdiUUID: "3f0e6c2a-1d2b-4c3d-9e8f-0a1b2c3d4e5f")
        #expect(
            reply.encoded()
                == "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><string>&lt;?xml version='1.0'?&gt;\n&lt;methodCall&gt;\n&lt;methodName&gt;vdi_attach_from_config&lt;/methodName&gt;\n&lt;params&gt;\n&lt;param&gt;\n&lt;value&gt;&lt;struct&gt;\n&lt;member&gt;\n&lt;name&gt;device_config&lt;/name&gt;\n&lt;value&gt;&lt;struct&gt;\n&lt;member&gt;\n&lt;name&gt;SRmaster&lt;/name&gt;\n&lt;value&gt;&lt;string&gt;true&lt;/string&gt;&lt;/value&gt;\n&lt;/member&gt;\n&lt;member&gt;\n&lt;name&gt;device&lt;/name&gt;\n&lt;value&gt;&lt;string&gt;/dev/sdb&lt;/string&gt;&lt;/value&gt;\n&lt;/member&gt;\n&lt;/struct&gt;&lt;/value&gt;\n&lt;/member&gt;\n&lt;member&gt;\n&lt;name&gt;sr_uuid&lt;/name&gt;\n&lt;value&gt;&lt;string&gt;13c4384e-897b-e745-6b3e-9a89c06537be&lt;/string&gt;&lt;/value&gt;\n&lt;/member&gt;\n&lt;member&gt;\n&lt;name&gt;vdi_uuid&lt;/name&gt;\n&lt;value&gt;&lt;string&gt;3f0e6c2a-1d2b-4c3d-9e8f-0a1b2c3d4e5f&lt;/string&gt;&lt;/value&gt;\n&lt;/member&gt;\n&lt;member&gt;\n&lt;name&gt;command&lt;/name&gt;\n&lt;value&gt;&lt;string&gt;vdi_attach_from_config&lt;/string&gt;&lt;/value&gt;\n&lt;/member&gt;\n&lt;/struct&gt;&lt;/value&gt;\n&lt;/param&gt;\n&lt;/params&gt;\n&lt;/methodCall&gt;\n</string></value>\n</param>\n</params>\n</methodResponse>\n\n"
        )
    }

    @Test(arguments: [
        SMAPIReply.nil, .string("<SRlist/>"), .vdi(location: "l", uuid: "u"),
        .fault(code: 143, string: "Failed to parse the request"),
        .attach(AttachInfo(params: "/p", xenstoreData: ["k": "v"])),
    ])
    func repliesDecodeAsTheResponseTheyEncode(reply: SMAPIReply) throws {
        var text = reply.encoded()
        #expect(text.hasSuffix("</methodResponse>\n\n"))
        text.removeLast()
        #expect(try MethodResponse(decoding: text) == reply.methodResponse)
    }
}
