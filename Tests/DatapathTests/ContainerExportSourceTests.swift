import BlockIO
import Datapath
import DatapathBackend
import Foundation
import SM
import TestSupport
import Testing

/// A daemon serving an SR opens every volume through the SR's container, never a path: here
/// a container with LV semantics (volumes `VHD-<uuid>`, fixed size, snapshots by rename) that
/// exists only in this process, served to real NBD clients.
@Suite(.enabled(if: RunningDaemon.haveClients, "needs nbdinfo and qemu-io"), .timeLimit(.minutes(2)))
struct ContainerExportSourceTests {
    /// An SR in memory with one VDI: `0x11` in its first MiB, snapshotted, then `0x22` in its
    /// second MiB on the new leaf.
    static func makeSR() throws -> (SREngine, VDIRecord) {
        let container = MemoryVolumeContainer(name: "vg", semantics: .logicalVolumes)
        let storage = SRStorage(container: container)
        let engine = try SREngine.create(
            sr: SRRecord(uuid: Identifier.newUUID(), nameLabel: "lv", type: "lvm"), container: container,
            metadataStore: storage.metadataStore, journal: storage.journal)
        let vdi = try engine.createVDI(.init(size: 16 << 20))
        try write(engine, vdi.uuid, 0x11, at: 0)
        _ = try engine.snapshot(vdi.uuid, now: "20261203T00:00:00Z")
        try write(engine, vdi.uuid, 0x22, at: 1 << 20)
        return (engine, vdi)
    }

    static func write(_ engine: SREngine, _ uuid: String, _ byte: UInt8, at offset: UInt64) throws {
        let chain = try engine.openChain(uuid, writable: true)
        try [UInt8](repeating: byte, count: 1 << 20).withUnsafeBytes { try chain.write($0, at: offset) }
        try chain.leaf.flush()
    }

    static func qemuIO(_ socket: String, _ export: String, _ commands: [String]) async throws {
        let arguments = ["-f", "raw", "-r"] + commands.flatMap { ["-c", $0] } + ["nbd+unix:///\(export)?socket=\(socket)"]
        _ = try await Tool.require("qemu-io").run(arguments, timeout: 30).requireSuccess()
    }

    @Test func aChainOfLVsIsServedAndReopenedThroughTheContainer() async throws {
        let (engine, vdi) = try Self.makeSR()
        let leaf = engine.container.naming.volume(for: vdi.uuid, type: .vhd)
        #expect(leaf == "VHD-\(vdi.uuid)")
        let directory = try TemporaryDirectory(prefix: "container-source")
        let options = DaemonOptions(socketPath: directory.path(for: "nbd.sock"), controlPath: directory.path(for: "control"))
        let daemon = DatapathDaemon(options: options, source: ContainerExportSource(container: engine.container))
        try daemon.start()
        defer { _ = daemon.shutdown() }
        let client = DatapathClient(controlPath: options.controlPath, replyTimeout: 30)

        let opened = try await onOwnThread { try client.open(export: vdi.uuid, path: leaf, readOnly: true) }
        #expect(opened.size == 16 << 20 && opened.path == leaf)
        try await Self.qemuIO(options.socketPath, vdi.uuid, ["read -P 0x11 0 1M", "read -P 0x22 1M 1M", "read -P 0 2M 1M"])

        // A snapshot renames the leaf to a base copy and puts a new leaf under its name; the
        // resume re-opens the chain through the container, one deeper.
        _ = try await onOwnThread { try client.pause(export: vdi.uuid) }
        _ = try engine.snapshot(vdi.uuid, now: "20261203T00:00:01Z")
        try Self.write(engine, vdi.uuid, 0x33, at: 2 << 20)
        _ = try await onOwnThread { try client.unpause(export: vdi.uuid, path: leaf) }
        try await Self.qemuIO(options.socketPath, vdi.uuid, ["read -P 0x11 0 1M", "read -P 0x22 1M 1M", "read -P 0x33 2M 1M"])
    }

    @Test func onlyVDIVolumesOfTheContainerAreServed() async throws {
        let (engine, _) = try Self.makeSR()
        let source = ContainerExportSource(container: engine.container)
        for hostile in ["../x", "/etc/passwd", VolumeNaming.records, "VHD-not-a-uuid", ""] {
            #expect(throws: DatapathError.self, "\(hostile)") { try source.open(hostile, readOnly: true, previous: nil) }
        }
        let missing = "VHD-\(Identifier.newUUID())"
        #expect {
            try source.open(missing, readOnly: true, previous: nil)
        } throws: { error in
            guard case .openFailed(let path, let message) = error as? DatapathError else { return false }
            return path == missing && message.contains("not found")
        }
    }
}
