import BlockIO
import Foundation
import SM
import Testing
import VHD
import XMLRPC

/// Every SMAPIv1 command through the real `sm` binary invoked as `EXTSR`, on a directory SR:
/// requests written as xapi writes them, replies checked against the reference's shapes.
@Suite(.enabled(if: PluginHarness.binary != nil, "needs the built sm executable"))
struct DispatchConformanceTests {
    let harness: PluginHarness

    init() throws { harness = try PluginHarness() }

    func metadata(_ sr: String) throws -> SRMetadata {
        try SRStorage.directory(harness.srDirectory(sr)).metadataStore.load()
    }

    /// Writes `byte` over the first MiB of VDI `vdi` (a VHD) through the VHD engine.
    func write(_ byte: UInt8, to vdi: String, in sr: String) throws {
        let path = harness.srDirectory(sr) + "/\(vdi).vhd"
        let leaf = try Image.open(store: try FileBlockStore(path: path), name: path, options: .readWrite)
        let chain = try Chain.open(leaf: leaf, resolver: FileParentResolver(confinement: harness.srDirectory(sr)))
        try [UInt8](repeating: byte, count: 1 << 20).withUnsafeBytes { try chain.write($0, at: 0) }
        try leaf.flush()
    }

    /// The first byte of VDI `vdi`'s disk.
    func firstByte(of vdi: String, in sr: String) throws -> UInt8 {
        let path = harness.srDirectory(sr) + "/\(vdi).vhd"
        let leaf = try Image.open(store: try FileBlockStore(path: path, readOnly: true), name: path)
        let chain = try Chain.open(leaf: leaf, resolver: FileParentResolver(confinement: harness.srDirectory(sr)))
        var byte: [UInt8] = [0xAA]
        try byte.withUnsafeMutableBytes { try chain.read(into: $0, at: 0) }
        return byte[0]
    }

    @Test func driverInfoIsEXTSRsVerbatim() async throws {
        // The request of the reference's SRTest.txt: no session, empty device_config.
        let document =
            "<methodCall><methodName>sr_get_driver_info</methodName><params><param><value><struct><member><name>host_ref</name><value>OpaqueRef:NULL</value></member><member><name>command</name><value>sr_get_driver_info</value></member><member><name>args</name><value><array><data/></array></value></member><member><name>device_config</name><value><struct/></value></member></struct></value></param></params></methodCall>"
        let reply = try PluginReply(try await harness.run([document]))
        let members = try #require(reply.value?.structMembers)
        #expect(
            members.map(\.name) == [
                "name", "description", "vendor", "copyright", "driver_version", "required_api_version", "capabilities",
                "configuration",
            ])
        #expect(reply.value?[member: "name"] == "Local EXT3 VHD")
        #expect(
            reply.value?[member: "description"]
                == "SR plugin which represents disks as VHD files stored on a local EXT3 filesystem, created inside an LVM volume"
        )
        #expect(reply.value?[member: "vendor"] == "Citrix Systems Inc")
        #expect(reply.value?[member: "copyright"] == "(C) 2008 Citrix Systems Inc")
        #expect(reply.value?[member: "driver_version"] == "1.0")
        #expect(reply.value?[member: "required_api_version"] == "1.0")
        let capabilities = reply.value?[member: "capabilities"]?.arrayElements?.compactMap(\.stringValue)
        #expect(
            capabilities == [
                "SR_PROBE", "SR_UPDATE", "SR_SUPPORTS_LOCAL_CACHING", "VDI_CREATE", "VDI_DELETE", "VDI_ATTACH",
                "VDI_DETACH", "VDI_UPDATE", "VDI_CLONE", "VDI_SNAPSHOT", "VDI_RESIZE", "VDI_MIRROR",
                "VDI_GENERATE_CONFIG", "VDI_RESET_ON_BOOT/2", "ATOMIC_PAUSE", "VDI_CONFIG_CBT", "VDI_ACTIVATE",
                "VDI_DEACTIVATE", "THIN_PROVISIONING", "VDI_READ_CACHING",
            ])
        #expect(
            reply.value?[member: "configuration"]
                == .array([["key": "device", "description": "local device path (required) (e.g. /dev/sda3)"]]))
        #expect(reply.text.hasPrefix("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n"))
    }

    @Test func srLifecycleCreateAttachScanUpdateDetachDelete() async throws {
        let sr = Identifier.newUUID()
        try await harness.call("sr_create", args: ["0"], sr: sr).requireNil()
        #expect(FileManager.default.fileExists(atPath: harness.srDirectory(sr) + "/sm-metadata.json"))
        #expect(try metadata(sr).sr.type == "ext")
        try await harness.call("sr_attach", sr: sr).requireNil()
        try await harness.call("sr_scan", sr: sr).requireNil()
        try await harness.call("sr_update", sr: sr).requireNil()
        #expect(try await harness.call("sr_content_type", sr: sr).requireString() == "vhd")
        try await harness.call("sr_detach", sr: sr).requireNil()
        try await harness.call("sr_detach", sr: sr).requireNil()
        try await harness.call("sr_delete", sr: sr).requireNil()
        #expect(!FileManager.default.fileExists(atPath: harness.srDirectory(sr)))
    }

    @Test func probeListsTheSRsOfADirectoryAsSRlistXML() async throws {
        let empty = try await harness.call("sr_probe")
        #expect(try empty.requireString() == "<?xml version=\"1.0\" ?>\n<SRlist/>\n")
        let sr = try await harness.createSR()
        let xml = try await harness.call("sr_probe").requireString()
        #expect(
            xml.hasPrefix(
                "<?xml version=\"1.0\" ?>\n<SRlist>\n\t<SR>\n\t\t<UUID>\(sr)</UUID>\n\t\t<Devlist>\(harness.srParent)</Devlist>\n\t\t<size>"
            ))
        #expect(xml.hasSuffix("</size>\n\t</SR>\n</SRlist>\n"))
        let withMetadata = try await harness.call("sr_probe", extra: [.init("sr_sm_config", ["metadata": "true"])])
            .requireString()
        #expect(
            withMetadata.contains(
                "\t\t<name_label></name_label>\n\t\t<name_description></name_description>\n\t\t<pool_metadata_detected>false</pool_metadata_detected>\n"
            ))
    }

    @Test func vdiCreateMakesAVHDOrARawFileAndAnswersLocationAndUUID() async throws {
        let sr = try await harness.createSR()
        let vhd = try await harness.createVDI(in: sr, size: 10 << 20)
        #expect(FileManager.default.fileExists(atPath: harness.srDirectory(sr) + "/\(vhd).vhd"))
        let raw = try await harness.createVDI(in: sr, size: 3 << 20, smConfig: ["type": "raw"])
        let rawPath = harness.srDirectory(sr) + "/\(raw).raw"
        #expect((try FileManager.default.attributesOfItem(atPath: rawPath)[.size] as? UInt64) == 4 << 20)
        let records = try metadata(sr).vdis
        #expect(records[vhd]?.virtualSize == 10 << 20)
        #expect(records[vhd]?.nameLabel == "disk")
        #expect(records[vhd]?.type == "user")
        #expect(records[raw]?.volumeType == .raw)
        // An imposed uuid (CP-46179) is kept.
        let imposed = Identifier.newUUID()
        let reply = try await harness.call(
            "vdi_create", args: ["2097152", "x", "", "", "false", "", "", "false"], sr: sr, vdi: imposed)
        #expect(try reply.requireVDI().uuid == imposed)
        #expect(
            reply.text == """
                <?xml version='1.0'?>
                <methodResponse>
                <params>
                <param>
                <value><struct>
                <member>
                <name>location</name>
                <value><string>\(imposed)</string></value>
                </member>
                <member>
                <name>uuid</name>
                <value><string>\(imposed)</string></value>
                </member>
                </struct></value>
                </param>
                </params>
                </methodResponse>


                """)
    }

    @Test func attachActivateDeactivateDetachHandOutTheDatapathsNBDExport() async throws {
        let sr = try await harness.createSR()
        let vdi = try await harness.createVDI(in: sr)
        let attach = try await harness.call("vdi_attach", args: ["true"], sr: sr, vdi: vdi)
        let members = try #require(attach.value?.structMembers)
        #expect(members.map(\.name) == ["params", "params_nbd", "o_direct", "o_direct_reason", "xenstore_data"])
        #expect(attach.value?[member: "params"] == .string(harness.nbdURI(vdi)))
        #expect(attach.value?[member: "params_nbd"] == .string(harness.nbdURI(vdi)))
        #expect(attach.value?[member: "o_direct"] == .boolean(true))
        #expect(attach.value?[member: "o_direct_reason"] == "")
        #expect(attach.value?[member: "xenstore_data"] == ["storage-type": "ext", "vdi-type": "vhd"])
        try await harness.call("vdi_activate", args: ["true"], sr: sr, vdi: vdi, extra: [.init("vdi_on_boot", "persist")])
            .requireNil()
        try await harness.call("vdi_deactivate", sr: sr, vdi: vdi).requireNil()
        try await harness.call("vdi_detach", sr: sr, vdi: vdi).requireNil()
        try await harness.call("vdi_delete", sr: sr, vdi: vdi).requireNil()
    }

    @Test func snapshotKeepsTheUUIDAndMakesAHiddenBaseCopy() async throws {
        let sr = try await harness.createSR()
        let vdi = try await harness.createVDI(in: sr)
        try write(0x11, to: vdi, in: sr)
        let snapshot = try await harness.call("vdi_snapshot", sr: sr, vdi: vdi, extra: [.init("driver_params", .struct([]))])
            .requireVDI().uuid
        #expect(snapshot != vdi)
        let records = try metadata(sr).vdis
        let base = try #require(records[vdi]?.parent)
        #expect(records[base]?.hidden == true && records[base]?.readOnly == true && records[base]?.managed == false)
        #expect(records[snapshot]?.parent == base)
        #expect(records[snapshot]?.isASnapshot == true && records[snapshot]?.snapshotOf == vdi)
        #expect(try firstByte(of: snapshot, in: sr) == 0x11)
        // A single snapshot answers the base copy (one holding data: an empty one is dropped).
        try write(0x12, to: vdi, in: sr)
        let single = try await harness.call(
            "vdi_snapshot", sr: sr, vdi: vdi, extra: [.init("driver_params", ["type": "single"])]
        )
        .requireVDI().uuid
        #expect(try metadata(sr).vdis[single]?.hidden == true)
        let clone = try await harness.call("vdi_clone", sr: sr, vdi: vdi).requireVDI().uuid
        #expect(try metadata(sr).vdis[clone]?.isASnapshot == false)
        #expect(try firstByte(of: clone, in: sr) == 0x12)
    }

    @Test func revertGivesTheVDITheSnapshotsContentAndKeepsItsUUID() async throws {
        let sr = try await harness.createSR()
        let vdi = try await harness.createVDI(in: sr)
        try write(0x22, to: vdi, in: sr)
        let snapshot = try await harness.call("vdi_snapshot", sr: sr, vdi: vdi).requireVDI().uuid
        try write(0x33, to: vdi, in: sr)
        #expect(try firstByte(of: vdi, in: sr) == 0x33)
        let reverted = try await harness.call("vdi_revert", args: [vdi], sr: sr, vdi: snapshot).requireVDI()
        #expect(reverted.uuid == vdi)
        #expect(try firstByte(of: vdi, in: sr) == 0x22)
    }

    @Test func resizeGrowsOfflineAndOnline() async throws {
        let sr = try await harness.createSR()
        let vdi = try await harness.createVDI(in: sr, size: 8 << 20)
        #expect(try await harness.call("vdi_resize", args: [String(100 << 20)], sr: sr, vdi: vdi).requireVDI().uuid == vdi)
        #expect(try metadata(sr).vdis[vdi]?.virtualSize == 100 << 20)
        _ = try await harness.call("vdi_resize_online", args: [String(200 << 20)], sr: sr, vdi: vdi).requireVDI()
        #expect(try metadata(sr).vdis[vdi]?.virtualSize == 200 << 20)
        try await harness.call("vdi_update", sr: sr, vdi: vdi).requireNil()
        #expect(try metadata(sr).vdis[vdi]?.virtualSize == 200 << 20)
    }

    @Test func generatedConfigAttachesWithoutTheToolstack() async throws {
        let sr = try await harness.createSR()
        let vdi = try await harness.createVDI(in: sr)
        let config = try await harness.call("vdi_generate_config", sr: sr, vdi: vdi).requireString()
        let call = try MethodCall(decoding: config)
        #expect(call.methodName == "vdi_attach_from_config")
        #expect(call.params.first?[member: "command"] == "vdi_attach_from_config")
        #expect(call.params.first?[member: "sr_uuid"] == .string(sr))
        #expect(call.params.first?[member: "vdi_uuid"] == .string(vdi))
        let attached = try PluginReply(try await harness.run([config]))
        #expect(attached.value?[member: "params_nbd"] == .string(harness.nbdURI(vdi)))
        let detach = config.replacing("vdi_attach_from_config", with: "vdi_detach_from_config")
        try PluginReply(try await harness.run([detach])).requireNil()
    }

    @Test func composeMakesTheFirstVDITheParentOfTheSecond() async throws {
        let sr = try await harness.createSR()
        let parent = try await harness.createVDI(in: sr)
        let child = try await harness.createVDI(in: sr)
        // vdi_compose re-parents a differencing leaf (a mirror's destination): make one.
        try write(0x55, to: child, in: sr)
        _ = try await harness.call("vdi_snapshot", sr: sr, vdi: child, extra: [.init("driver_params", ["type": "single"])])
            .requireVDI()
        try await harness.call("vdi_compose", args: [parent], sr: sr, vdi: child).requireNil()
        let records = try metadata(sr).vdis
        #expect(records[child]?.parent == parent)
        #expect(records[parent]?.hidden == true && records[parent]?.managed == false)
    }

    @Test func epochBeginResetsALeafThatResetsOnBoot() async throws {
        let sr = try await harness.createSR()
        let vdi = try await harness.createVDI(in: sr)
        try write(0x44, to: vdi, in: sr)
        try await harness.call("vdi_epoch_begin", sr: sr, vdi: vdi, extra: [.init("vdi_on_boot", "persist")]).requireNil()
        #expect(try firstByte(of: vdi, in: sr) == 0x44)
        try await harness.call("vdi_epoch_begin", sr: sr, vdi: vdi, extra: [.init("vdi_on_boot", "reset")]).requireNil()
        #expect(try firstByte(of: vdi, in: sr) == 0)
        try await harness.call("vdi_epoch_end", sr: sr, vdi: vdi).requireNil()
    }

    @Test func scanIntroducesVolumesAndForgetsVanishedOnes() async throws {
        let sr = try await harness.createSR()
        let vdi = try await harness.createVDI(in: sr)
        let copy = Identifier.newUUID()
        try FileManager.default.copyItem(
            atPath: harness.srDirectory(sr) + "/\(vdi).vhd", toPath: harness.srDirectory(sr) + "/\(copy).vhd")
        try FileManager.default.removeItem(atPath: harness.srDirectory(sr) + "/\(vdi).vhd")
        try await harness.call("sr_scan", sr: sr).requireNil()
        let records = try metadata(sr).vdis
        #expect(records[copy] != nil)
        #expect(records[vdi] == nil)
    }

    @Test func commandsTheReferenceLacksAreFaults() async throws {
        let sr = try await harness.createSR()
        let vdi = try await harness.createVDI(in: sr)
        try await harness.call("vdi_introduce", sr: sr, vdi: vdi, extra: [.init("new_uuid", .string(Identifier.newUUID()))])
            .expectFault(38, "The requested method is not supported/implemented")
        try await harness.call("vdi_enable_cbt", sr: sr, vdi: vdi).expectFault(38)
        try await harness.call("vdi_frobnicate", sr: sr, vdi: vdi).expectFault(143, "Failed to parse the request")
    }
}
