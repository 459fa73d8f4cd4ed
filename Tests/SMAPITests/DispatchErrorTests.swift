import ExtDriver
import Foundation
import SM
import SMAPI
import Testing
import XMLRPC

/// Faults through the real plugin: the catalogue's numbers and fault strings, exit status 0,
/// and hostile input that must never reach the file system.
@Suite(.enabled(if: PluginHarness.binary != nil, "needs the built sm executable"))
struct DispatchErrorTests {
    let harness: PluginHarness

    init() throws { harness = try PluginHarness() }

    @Test func missingDeviceConfigIs90() async throws {
        let sr = Identifier.newUUID()
        try await harness.call("sr_create", args: ["0"], sr: sr, deviceConfig: [:])
            .expectFault(90, "The request is missing the device parameter")
        try await harness.call("sr_attach", sr: sr, deviceConfig: [:]).expectFault(90)
        try await harness.call("sr_probe", deviceConfig: [:]).expectFault(90)
    }

    @Test func unknownVDIIs144() async throws {
        let sr = try await harness.createSR()
        let ghost = Identifier.newUUID()
        for command in ["vdi_delete", "vdi_attach", "vdi_snapshot", "vdi_clone", "vdi_update", "vdi_generate_config"] {
            let args = command == "vdi_attach" ? ["true"] : []
            try await harness.call(command, args: args, sr: sr, vdi: ghost).expectFault(144, "VDI could not be found")
        }
    }

    @Test func deletingAnAttachedVDIIs24() async throws {
        let sr = try await harness.createSR()
        let vdi = try await harness.createVDI(in: sr)
        _ = try await harness.call("vdi_attach", args: ["true"], sr: sr, vdi: vdi)
        try await harness.call("vdi_delete", sr: sr, vdi: vdi).expectFault(24, "The VDI is currently in use")
        try await harness.call("vdi_activate", args: ["true"], sr: sr, vdi: vdi).requireNil()
        // Offline resize of a VDI active read-write is refused; a snapshot pauses its datapath.
        try await harness.call("vdi_resize", args: [String(128 << 20)], sr: sr, vdi: vdi).expectFault(24)
        let snapshot = try await harness.call("vdi_snapshot", sr: sr, vdi: vdi)
        #expect(snapshot.value?[member: "uuid"] != nil, "\(snapshot)")
        try await harness.call("sr_detach", sr: sr).expectFault(16, "The SR device is currently in use")
        try await harness.call("vdi_detach", sr: sr, vdi: vdi).requireNil()
        try await harness.call("vdi_delete", sr: sr, vdi: vdi).requireNil()
    }

    @Test func sizesBeyondTheLimitAndShrinksAre79() async throws {
        let sr = try await harness.createSR()
        try await harness.call("vdi_create", args: [String(3 << 40), "big", "", "", "false", "", "", "false"], sr: sr)
            .expectFault(79, "VDI Invalid size")
        let vdi = try await harness.createVDI(in: sr, size: 64 << 20)
        try await harness.call("vdi_resize", args: [String(8 << 20)], sr: sr, vdi: vdi).expectFault(79)
        try await harness.call("vdi_resize", args: [String(3 << 40)], sr: sr, vdi: vdi).expectFault(79)
    }

    @Test func malformedRequestsAre143() async throws {
        for document in ["<x", "", "not xml", "<methodCall><methodName>sr_scan</methodName></methodCall>"] {
            try PluginReply(try await harness.run([document])).expectFault(143, "Failed to parse the request")
        }
        try PluginReply(try await harness.run([])).expectFault(143)
        try PluginReply(try await harness.run(["<a/>", "<b/>"])).expectFault(143)
    }

    @Test func anUnknownPluginNameIs48() async throws {
        try PluginReply(try await harness.run(["<a/>"], as: "FOOSR")).expectFault(48, "Unknown repository type")
    }

    @Test func hostileUUIDsNeverBecomePaths() async throws {
        let sr = try await harness.createSR()
        for hostile in ["../x", "../../etc", "/tmp/x", "a/b", "", String(repeating: "a", count: 5000), sr.uppercased()]
        {
            try await harness.call("sr_create", args: ["0"], sr: hostile).expectFault(143)
            try await harness.call("sr_attach", sr: hostile).expectFault(143)
            try await harness.call("vdi_delete", sr: sr, vdi: hostile).expectFault(143)
            try await harness.call(
                "vdi_create", args: ["2097152", "x", "", "", "false", "", "", "false"], sr: sr, vdi: hostile
            ).expectFault(143)
            try await harness.call("vdi_revert", args: [hostile], sr: sr, vdi: Identifier.newUUID()).expectFault(144)
        }
        let parent = try FileManager.default.contentsOfDirectory(atPath: harness.srParent)
        #expect(parent == [sr])
        #expect(!FileManager.default.fileExists(atPath: harness.directory.path(for: "x")))
    }

    @Test func oversizedLabelsAreKeptClipped() async throws {
        let sr = try await harness.createSR()
        // 60 KB: Linux passes at most 128 KiB in one argument (MAX_ARG_STRLEN).
        let label = String(repeating: "é", count: 30_000)
        let reply = try await harness.call("vdi_create", args: ["2097152", label, "", "", "false", "", "", "false"], sr: sr)
        let vdi = try reply.requireVDI().uuid
        let record = try #require(try SRStorage.directory(harness.srDirectory(sr)).metadataStore.load().vdis[vdi])
        #expect(record.nameLabel.utf8.count == SRHost.maximumNameBytes)
        #expect(record.nameLabel == String(repeating: "é", count: SRHost.maximumNameBytes / 2))
    }

    @Test func illegalXMLCharactersAre447() async throws {
        // A document cannot carry them: the XML layer refuses it as a bad request.
        let sr = try await harness.createSR()
        let good = Xapi.methodCall(
            "vdi_create",
            harness.request(
                "vdi_create", args: ["2097152", "x", "", "", "false", "", "", "false"], sr: sr, vdi: nil,
                deviceConfig: nil, extra: []))
        try PluginReply(try await harness.run([good.replacing(">x<", with: ">&#1;<", maxReplacements: 1)])).expectFault(143)
        // Through the dispatcher (a call built in memory), the label check answers 447.
        let paths = HostPaths(
            lockDirectory: harness.directory.path(for: "lock"),
            refcountDirectory: harness.directory.path(for: "refcount"),
            mountBase: harness.directory.path(for: "mnt"), stateDirectory: harness.directory.path(for: "state"))
        let dispatcher = SMAPIDispatcher(host: SRHost(driver: ExtDriver(mountBase: paths.mountBase), paths: paths))
        for args in [
            ["2097152", "bad\u{1}", "", "", "false", "", "", "false"],
            ["2097152", "x", "\u{FFFE}", "", "false", "", "", "false"],
        ] {
            let call = MethodCall(
                methodName: "vdi_create",
                params: [harness.request("vdi_create", args: args, sr: sr, vdi: nil, deviceConfig: nil, extra: [])])
            let reply = dispatcher.reply(toCall: call)
            guard case .fault(let code, let string) = reply else {
                Issue.record("expected fault 447, got \(reply)")
                continue
            }
            #expect(code == 447)
            #expect(string.hasPrefix("Illegal XML character. [opterr="))
        }
        #expect(try SRStorage.directory(harness.srDirectory(sr)).metadataStore.load().vdis.isEmpty)
    }

    /// Issue 9: `device_config:SRmaster` reaches the host. On a host that is not the SR master
    /// the commands the reference reserves for the master are refused with LVMMaster (58), and
    /// nothing changes; the others (attach, update) still work there.
    @Test func aHostThatIsNotTheMasterRefusesMasterOnlyCommandsWith58() async throws {
        let sr = try await harness.createSR()
        let vdi = try await harness.createVDI(in: sr)
        let slave = ["path": harness.srParent, "SRmaster": "false"]
        try await harness.call(
            "vdi_create", args: [String(8 << 20), "disk", "", "", "false", "19700101T00:00:00Z", "", "false"], sr: sr,
            deviceConfig: slave
        ).expectFault(58, "Logical Volume request must come from master")
        for command in ["vdi_snapshot", "vdi_clone", "vdi_delete"] {
            try await harness.call(command, sr: sr, vdi: vdi, deviceConfig: slave).expectFault(58)
        }
        try await harness.call("vdi_resize", args: [String(16 << 20)], sr: sr, vdi: vdi, deviceConfig: slave).expectFault(58)
        try await harness.call("sr_scan", sr: sr, deviceConfig: slave).expectFault(58)
        let volumes = try FileManager.default.contentsOfDirectory(atPath: harness.srParent + "/" + sr)
        #expect(volumes.filter { $0.hasSuffix(".vhd") } == [vdi + ".vhd"], "\(volumes)")
        _ = try await harness.call("vdi_update", sr: sr, vdi: vdi, deviceConfig: slave)
        #expect(try await harness.call("vdi_snapshot", sr: sr, vdi: vdi).fault == nil, "the master's snapshot works")
    }
}
