import Foundation
import SM
import Testing

/// The ext driver's `device=` SRs through the plugin: an image file formatted ext4 and
/// loop-mounted under the mount base, as the reference mounts its LV.
@Suite(
    .enabled(if: PluginHarness.binary != nil, "needs the built sm executable"),
    .enabled(if: PluginHarness.canMountLoopDevices, "needs root, mkfs.ext4 and loop mounts"))
struct DispatchDeviceTests {
    let harness: PluginHarness
    let image: String

    init() throws {
        harness = try PluginHarness()
        image = harness.directory.path(for: "disk.img")
        #expect(FileManager.default.createFile(atPath: image, contents: nil))
        #expect(truncate(image, 256 << 20) == 0)
    }

    var config: [String: String] { ["device": image] }
    func mountPoint(_ sr: String) -> String { harness.directory.path(for: "mnt/\(sr)") }

    @Test func createProbeAttachDetachReattachDelete() async throws {
        let sr = Identifier.newUUID()
        try await harness.call("sr_create", args: ["0"], sr: sr, deviceConfig: config).requireNil()
        #expect(!MountTable.isMountPoint(mountPoint(sr)), "sr_create leaves the SR detached")
        let probe = try await harness.call("sr_probe", deviceConfig: config).requireString()
        #expect(
            probe.hasPrefix(
                "<?xml version=\"1.0\" ?>\n<SRlist>\n\t<SR>\n\t\t<UUID>\(sr)</UUID>\n\t\t<Devlist>\(image)</Devlist>\n\t\t<size>\(256 << 20)</size>\n"
            ))

        try await harness.call("sr_attach", sr: sr, deviceConfig: config).requireNil()
        #expect(MountTable.entry(at: mountPoint(sr))?.fileSystemType == "ext4")
        let vdi = try await harness.createVDI(in: sr, deviceConfig: config)
        let attach = try await harness.call("vdi_attach", args: ["false"], sr: sr, vdi: vdi, deviceConfig: config)
        #expect(attach.value?[member: "params_nbd"] == .string(harness.nbdURI(vdi)))
        try await harness.call("sr_detach", sr: sr, deviceConfig: config).expectFault(16)
        try await harness.call("vdi_detach", sr: sr, vdi: vdi, deviceConfig: config).requireNil()
        try await harness.call("sr_detach", sr: sr, deviceConfig: config).requireNil()
        #expect(!MountTable.isMountPoint(mountPoint(sr)))
        try await harness.call("vdi_update", sr: sr, vdi: vdi, deviceConfig: config).expectFault(47)

        // Another host (here: the same, after detach) sees the same VDIs with the same names.
        try await harness.call("sr_attach", sr: sr, deviceConfig: config).requireNil()
        let records = try SRStorage.directory(mountPoint(sr)).metadataStore.load().vdis
        #expect(records[vdi]?.nameLabel == "disk")

        try await harness.call("sr_delete", sr: sr, deviceConfig: config).expectFault(39, "The SR is not empty")
        try await harness.call("vdi_delete", sr: sr, vdi: vdi, deviceConfig: config).requireNil()
        try await harness.call("sr_delete", sr: sr, deviceConfig: config).requireNil()
        #expect(!MountTable.isMountPoint(mountPoint(sr)))
        #expect(
            try await harness.call("sr_probe", deviceConfig: config).requireString()
                == "<?xml version=\"1.0\" ?>\n<SRlist/>\n")
    }

    /// A real block device (a loop device made here): formatted and mounted without `-o loop`.
    @Test func aBlockDeviceSRIsMountedDirectly() async throws {
        let setup = ExternalCommand("losetup", ["--find", "--show", image]).run()
        try #require(setup.succeeded, "\(setup.output)")
        let loop = setup.output.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = ExternalCommand("losetup", ["-d", loop]).run() }
        let config = ["device": loop]
        let sr = Identifier.newUUID()
        try await harness.call("sr_create", args: ["0"], sr: sr, deviceConfig: config).requireNil()
        try await harness.call("sr_attach", sr: sr, deviceConfig: config).requireNil()
        let mount = try #require(MountTable.entry(at: mountPoint(sr)))
        #expect(mount.source == loop && mount.fileSystemType == "ext4")
        let vdi = try await harness.createVDI(in: sr, deviceConfig: config)
        let probe = try await harness.call(
            "sr_probe", deviceConfig: config, extra: [.init("sr_sm_config", ["metadata": "true"])])
        #expect(try probe.requireString().contains("<UUID>\(sr)</UUID>\n\t\t<Devlist>\(loop)</Devlist>"))
        try await harness.call("vdi_delete", sr: sr, vdi: vdi, deviceConfig: config).requireNil()
        try await harness.call("sr_delete", sr: sr, deviceConfig: config).requireNil()
        #expect(!MountTable.isMountPoint(mountPoint(sr)))
    }

    @Test func attachingTheWrongSRsDeviceIs47AndAMountedDeviceCannotBeFormatted() async throws {
        let sr = Identifier.newUUID()
        try await harness.call("sr_create", args: ["0"], sr: sr, deviceConfig: config).requireNil()
        try await harness.call("sr_attach", sr: Identifier.newUUID(), deviceConfig: config).expectFault(47)
        try await harness.call("sr_attach", sr: sr, deviceConfig: config).requireNil()
        try await harness.call("sr_create", args: ["0"], sr: Identifier.newUUID(), deviceConfig: config).expectFault(16)
        try await harness.call("sr_create", args: ["0"], sr: sr, deviceConfig: config).expectFault(42)
        try await harness.call("sr_detach", sr: sr, deviceConfig: config).requireNil()
    }

    /// `ConfigDeviceInvalid` (91); SM reports 1 for a key its catalogue lacks.
    @Test func aDeviceThatIsNeitherABlockDeviceNorAFileIsRefused() async throws {
        let code = SRError.named("ConfigDeviceInvalid").faultCode
        try await harness.call("sr_create", args: ["0"], sr: Identifier.newUUID(), deviceConfig: ["device": harness.srParent])
            .expectFault(code)
        try await harness.call("sr_create", args: ["0"], sr: Identifier.newUUID(), deviceConfig: ["device": "relative/path"])
            .expectFault(code)
    }
}
