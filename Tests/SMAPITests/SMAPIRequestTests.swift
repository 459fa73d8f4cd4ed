import SM
import SMAPI
import Testing
import XMLRPC

@Suite struct SMAPIRequestTests {
    /// Verbatim from SM's drivers/SRTest.txt.
    static let driverInfoRequest =
        "<methodCall><methodName>sr_get_driver_info</methodName><params><param><value><struct><member><name>host_ref</name><value>OpaqueRef:NULL</value></member><member><name>command</name><value>sr_get_driver_info</value></member><member><name>args</name><value><array><data/></array></value></member><member><name>device_config</name><value><struct/></value></member></struct></value></param></params></methodCall>"

    /// The realistic `vdi_create` params of SM's tests/test_SRCommand.py
    /// `test_parse_handles_wide_chars`, verbatim.
    static let vdiCreateParams: XMLRPCValue = [
        "host_ref": "OpaqueRef:133c7c46-f4d9-3695-83c4-bf8574b89fb9", "command": "vdi_create",
        "args": [
            "10737418240", "\u{4e2d}\u{6587}\u{673a}\u{5668} 0", "Created by template provisioner", "", "false",
            "19700101T00:00:00Z", "", "false",
        ],
        "device_config": [
            "SRmaster": "true", "device": "/dev/disk/by-id/scsi-3600508b1001c25e9eea8ead175fd83fb-part3",
        ],
        "session_ref": "OpaqueRef:c2c628b6-93c3-5e29-00cf-4f15a34e1555",
        "sr_ref": "OpaqueRef:c523a79a-8a60-121c-832e-d507586cb117", "vdi_type": "system",
        "sr_uuid": "13c4384e-897b-e745-6b3e-9a89c06537be", "vdi_sm_config": .struct([]),
        "subtask_of": "DummyRef:|0c533c65-d321-59c2-f540c-e66efbe3b1b7|VDI.create",
    ]

    @Test func parsesTheVerbatimDriverInfoRequest() throws {
        let request = try SMAPIRequest(parsing: Self.driverInfoRequest)
        #expect(request.command == .srGetDriverInfo)
        #expect(request.arguments == .none)
        #expect(request.hostRef == "OpaqueRef:NULL")
        #expect(request.deviceConfig.isEmpty)
        #expect(request.sessionRef == nil && request.srUUID == nil && request.vdiUUID == nil)
        #expect(!request.isSRMaster)
    }

    @Test(arguments: ["xapi", "python"])
    func parsesTheRealisticVDICreateWithWideCharacters(encoding: String) throws {
        let document =
            encoding == "xapi"
            ? Xapi.methodCall("vdi_create", Self.vdiCreateParams)
            : MethodCall(methodName: "vdi_create", params: [Self.vdiCreateParams]).encoded()
        let request = try SMAPIRequest(parsing: document)
        #expect(request.command == .vdiCreate)
        #expect(
            request.vdiCreateArguments
                == VDICreateArguments(
                    size: 10_737_418_240, nameLabel: "中文机器 0", nameDescription: "Created by template provisioner",
                    metadataOfPool: "", isASnapshot: false, snapshotTime: "19700101T00:00:00Z", snapshotOf: "",
                    readOnly: false))
        #expect(
            request.deviceConfig == [
                "SRmaster": "true", "device": "/dev/disk/by-id/scsi-3600508b1001c25e9eea8ead175fd83fb-part3",
            ])
        #expect(request.isSRMaster)
        #expect(request.srUUID == "13c4384e-897b-e745-6b3e-9a89c06537be")
        #expect(request.vdiUUID == nil)  // the driver generates one
        #expect(request.vdiType == "system")
        #expect(request.vdiSMConfig.isEmpty)
        #expect(request.subtaskOf == "DummyRef:|0c533c65-d321-59c2-f540c-e66efbe3b1b7|VDI.create")
        #expect(request.sessionRef == "OpaqueRef:c2c628b6-93c3-5e29-00cf-4f15a34e1555")
        #expect(request.srRef == "OpaqueRef:c523a79a-8a60-121c-832e-d507586cb117")
    }

    @Test func typesEveryCommandsArguments() throws {
        func parse(_ command: String, _ args: [String]) throws -> SMAPIArguments {
            try SMAPIRequest(parsing: Xapi.methodCall(command, Xapi.request(command, args: args))).arguments
        }
        #expect(try parse("sr_create", ["0"]) == .srCreate(size: 0))
        #expect(try parse("sr_create", ["18446744073709551615"]) == .srCreate(size: .max))
        #expect(try parse("vdi_attach", ["true"]) == .vdiAttach(writable: true))
        #expect(try parse("vdi_attach", ["false"]) == .vdiAttach(writable: false))
        #expect(try parse("vdi_activate", ["true"]) == .vdiActivate(writable: true))
        #expect(try parse("vdi_resize", ["21474836480"]) == .vdiResize(newSize: 21_474_836_480))
        #expect(try parse("vdi_resize_online", ["1024"]) == .vdiResize(newSize: 1024))
        #expect(try parse("vdi_compose", ["OpaqueRef:abc"]) == .vdiCompose(vdi1Ref: "OpaqueRef:abc"))
        #expect(try parse("vdi_revert", ["OpaqueRef:target"]) == .vdiRevert(targetVDIRef: "OpaqueRef:target"))
        #expect(
            try parse("vdi_list_changed_blocks", ["OpaqueRef:to"]) == .vdiListChangedBlocks(vdiToRef: "OpaqueRef:to"))
        let create = try parse(
            "vdi_create", ["1", "a", "b", "OpaqueRef:pool", "true", "20240101T00:00:00Z", "OpaqueRef:of", "true"])
        #expect(
            create
                == .vdiCreate(
                    VDICreateArguments(
                        size: 1, nameLabel: "a", nameDescription: "b", metadataOfPool: "OpaqueRef:pool",
                        isASnapshot: true,
                        snapshotTime: "20240101T00:00:00Z", snapshotOf: "OpaqueRef:of", readOnly: true)))
    }

    @Test(arguments: SMAPICommand.allCases)
    func parsesAMinimalRequestForEveryCommand(command: SMAPICommand) throws {
        let args = command.argumentNames.map { name in
            switch name {
            case "size", "new_size": "1024"
            case "writable", "is_a_snapshot", "read_only": "false"
            default: "x"
            }
        }
        let request = try SMAPIRequest(
            parsing: Xapi.methodCall(command.rawValue, Xapi.request(command.rawValue, args: args)))
        #expect(request.command == command)
        #expect(
            request.command.isImplemented == ![
                "vdi_enable_cbt", "vdi_disable_cbt", "vdi_data_destroy", "vdi_list_changed_blocks",
            ].contains(command.rawValue))
        #expect(try request.requireSRUUID() == "13c4384e-897b-e745-6b3e-9a89c06537be")
        #expect(try request.requireVDIUUID() == "3f0e6c2a-1d2b-4c3d-9e8f-0a1b2c3d4e5f")
    }

    @Test func readsTheOptionalMembers() throws {
        let request = try SMAPIRequest(
            parsing: Xapi.methodCall(
                "vdi_activate",
                Xapi.request(
                    "vdi_activate", args: ["true"],
                    changes: [
                        "vdi_on_boot": "reset", "vdi_allow_caching": "true",
                        "local_cache_sr": "0b9b2c3d-1111-4222-8333-444455556666", "subtask_of": "OpaqueRef:task",
                        "driver_params": ["type": "single"], "vdi_sm_config": ["type": "vhd"],
                        "sr_sm_config": ["metadata": "true"],
                        "vdi_type": "user", "some_future_member": .array([.int(1)]),
                    ])))
        #expect(request.vdiOnBoot == .reset)
        #expect(request.vdiAllowCaching == true)
        #expect(request.localCacheSR == "0b9b2c3d-1111-4222-8333-444455556666")
        #expect(request.subtaskOf == "OpaqueRef:task")
        #expect(request.driverParams == ["type": "single"])
        #expect(request.vdiSMConfig == ["type": "vhd"])
        #expect(request.srSMConfig == ["metadata": "true"])
        #expect(request.vdiLocation == "3f0e6c2a-1d2b-4c3d-9e8f-0a1b2c3d4e5f")
        #expect(request.newUUID == "5b1e2d3c-4a5b-4c6d-8e7f-901234567890")
        #expect(request.vdiRef == "OpaqueRef:9d2c1f3e-0000-4000-8000-000000000001")
        let noCache = try SMAPIRequest(
            parsing: Xapi.methodCall(
                "vdi_activate", Xapi.request("vdi_activate", args: ["true"], changes: ["local_cache_sr": ""])))
        #expect(noCache.localCacheSR == nil)
    }

    @Test func parsesWhatVDIGenerateConfigReturns() throws {
        guard
            case .string(let document) = SMAPIReply.generatedConfig(
                deviceConfig: ["SRmaster": "true", "device": "/dev/sdb"],
                srUUID: "13c4384e-897b-e745-6b3e-9a89c06537be",
                vdiUUID: "3f0e6c2a-1d2b-4c3d-9e8f-0a1b2c3d4e5f")
        else {
            Issue.record("expected a string reply")
            return
        }
        let request = try SMAPIRequest(parsing: document)
        #expect(request.command == .vdiAttachFromConfig)
        #expect(request.hostRef == nil)
        #expect(request.arguments == .none)
        #expect(request.deviceConfig == ["SRmaster": "true", "device": "/dev/sdb"])
        #expect(request.srUUID == "13c4384e-897b-e745-6b3e-9a89c06537be")
        #expect(request.vdiUUID == "3f0e6c2a-1d2b-4c3d-9e8f-0a1b2c3d4e5f")
    }

    @Test func descriptionHidesSecrets() throws {
        let request = try SMAPIRequest(
            parsing: Xapi.methodCall(
                "sr_attach",
                Xapi.request(
                    "sr_attach",
                    changes: [
                        "device_config": [
                            "target": "10.0.0.1", "chappassword": "hunter2", "incoming_chappassword": "s3cret",
                        ]
                    ])))
        let text = "\(request)"
        #expect(!text.contains("hunter2") && !text.contains("s3cret") && !text.contains("c2c628b6"))
        #expect(text.contains("chappassword: ******") && text.contains("target: 10.0.0.1"))
        #expect(String(reflecting: request) == text)
    }
}
