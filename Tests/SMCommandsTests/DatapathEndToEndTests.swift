import Foundation
import TestSupport
import Testing

/// VDIs served by their datapath daemons, used through the `sm` CLI as a guest would: a file
/// system made, written, snapshotted while attached, reverted, checked.
@Suite(.serialized, .enabled(if: GuestDisk.available, Comment(rawValue: GuestDisk.missing)), .timeLimit(.minutes(5)))
struct DatapathEndToEndTests {
    struct Attached: Decodable {
        var socket: String
        var params_nbd: String
    }

    static func random(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    @Test func aGuestFileSystemSurvivesASnapshotWhileAttachedAndARevert() async throws {
        let cli = try CLIHarness()
        let sr = try await cli.createSR()
        let vdi = try await cli.ok("vdi-create", "sr=\(sr)", "virtual-size=256MiB", "name-label=guest")
        let attached = try await cli.json(Attached.self, "vdi-attach", "uuid=\(vdi)")
        #expect(attached.params_nbd == "nbd:unix:\(attached.socket):exportname=\(vdi)")

        let big = Self.random(8 << 20)
        var guest = try GuestDisk(socket: attached.socket, export: vdi, in: cli.path("guest"))
        defer { guest.disconnect() }
        try guest.mkfs()
        try guest.mount()
        try Data("before\n".utf8).write(to: URL(fileURLWithPath: guest.path("a.txt")))
        try big.write(to: URL(fileURLWithPath: guest.path("big")))
        sync()

        // Snapshot with the file system mounted and the daemon serving it.
        let snapshot = try await cli.ok("vdi-snapshot", "uuid=\(vdi)", "name-label=before")
        try Data("after\n".utf8).write(to: URL(fileURLWithPath: guest.path("b.txt")))
        try FileManager.default.removeItem(atPath: guest.path("a.txt"))
        sync()
        try guest.unmount()
        let fsck = try guest.fsck()
        #expect(fsck.status == 0, "\(fsck)")
        try guest.mount()
        #expect(FileManager.default.fileExists(atPath: guest.path("b.txt")))
        try guest.unmount()
        guest.disconnect()

        // The snapshot, attached read-only, holds the file system as it was.
        let readOnly = try await cli.json(Attached.self, "vdi-attach", "uuid=\(snapshot)", "mode=RO")
        let viewer = try GuestDisk(socket: readOnly.socket, export: snapshot, in: cli.path("viewer"), readOnly: true)
        defer { viewer.disconnect() }
        try viewer.mount(readOnly: true)
        #expect(try String(contentsOfFile: viewer.path("a.txt"), encoding: .utf8) == "before\n")
        #expect(!FileManager.default.fileExists(atPath: viewer.path("b.txt")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: viewer.path("big"))) == big)
        try viewer.unmount()
        viewer.disconnect()
        try await cli.ok("vdi-detach", "uuid=\(snapshot)")

        // Revert while the VDI stays attached and active: its daemon re-opens the new leaf.
        try await cli.ok("vdi-revert", "uuid=\(vdi)", "snapshot-uuid=\(snapshot)")
        guest = try GuestDisk(socket: attached.socket, export: vdi, in: cli.path("guest2"))
        try guest.mount()
        #expect(try String(contentsOfFile: guest.path("a.txt"), encoding: .utf8) == "before\n")
        #expect(!FileManager.default.fileExists(atPath: guest.path("b.txt")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: guest.path("big"))) == big)
        try guest.unmount()
        #expect(try guest.fsck().status == 0)
        guest.disconnect()
        try await cli.ok("vdi-detach", "uuid=\(vdi)")

        let daemonFiles = try FileManager.default.contentsOfDirectory(atPath: cli.path("nbd")).filter { !$0.hasSuffix(".log") }
        #expect(daemonFiles.isEmpty, "\(daemonFiles)")
        let root = cli.srParent + "/" + sr
        let vhdUtil = try #require(Self.builtTool("vhd-util"))
        for name in try FileManager.default.contentsOfDirectory(atPath: root) where name.hasSuffix(".vhd") {
            _ = try await Tool(name: "vhd-util", path: vhdUtil).run(["check", "-n", root + "/" + name], timeout: 30).requireSuccess()
        }
    }

    @Test func aDeadDaemonIsReportedNeverReusedAndDetachClearsIt() async throws {
        let cli = try CLIHarness()
        let sr = try await cli.createSR()
        let vdi = try await cli.ok("vdi-create", "sr=\(sr)", "virtual-size=64MiB")
        try await cli.ok("vdi-attach", "uuid=\(vdi)")
        let pidText = try String(contentsOfFile: cli.path("nbd/\(vdi).pid"), encoding: .utf8)
        let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, SIGKILL) == 0)
        var status: Int32 = 0
        for _ in 0..<200 where kill(pid, 0) == 0 {
            _ = waitpid(pid, &status, WNOHANG)
            usleep(10_000)
        }
        for arguments in [["vdi-attach", "uuid=\(vdi)"], ["vdi-stats", "uuid=\(vdi)"], ["vdi-snapshot", "uuid=\(vdi)"]] {
            let result = try await cli.run(arguments)
            #expect(result.status != 0, "\(arguments): \(result)")
            #expect(result.errorOutput.contains("not running"), "\(arguments): \(result.errorOutput)")
        }
        try await cli.ok("vdi-detach", "uuid=\(vdi)")
        let again = try await cli.json(Attached.self, "vdi-attach", "uuid=\(vdi)")
        let info = try await Tool.require("nbdinfo").run(["--size", "nbd+unix:///\(vdi)?socket=\(again.socket)"], timeout: 30)
        #expect(info.output.trimmingCharacters(in: .whitespacesAndNewlines) == String(64 << 20), "\(info)")
        try await cli.ok("vdi-detach", "uuid=\(vdi)")
    }

    @Test func statsCountWhatAClientDid() async throws {
        let cli = try CLIHarness()
        let sr = try await cli.createSR()
        let vdi = try await cli.ok("vdi-create", "sr=\(sr)", "virtual-size=64MiB")
        let attached = try await cli.json(Attached.self, "vdi-attach", "uuid=\(vdi)")
        defer { _ = try? cli.run("vdi-detach", "uuid=\(vdi)") }
        let uri = "nbd+unix:///\(vdi)?socket=\(attached.socket)"
        _ = try await Tool.require("qemu-io").run(
            ["-f", "raw", "-c", "write -P 7 0 1M", "-c", "write -P 8 4M 64k", "-c", "read -P 7 0 1M", "-c", "flush", uri],
            timeout: 60
        ).requireSuccess()
        struct Statistics: Decodable {
            var reads: Int
            var writes: Int
            var flushes: Int
            var bytesRead: Int
            var bytesWritten: Int
            var errors: Int
        }
        let statistics = try await cli.json(Statistics.self, "vdi-stats", "uuid=\(vdi)")
        #expect(statistics.bytesWritten == (1 << 20) + (64 << 10))
        #expect(statistics.bytesRead >= 1 << 20)
        #expect(statistics.writes >= 2 && statistics.reads >= 1 && statistics.flushes >= 1 && statistics.errors == 0)
        let table = try await cli.ok("vdi-stats", "uuid=\(vdi)")
        #expect(table.contains("operation") && table.contains("p99-us"))
    }

    @Test func snapshotsTakenWhileAWriterRunsLoseNoWrite() async throws {
        let cli = try CLIHarness()
        let sr = try await cli.createSR()
        let vdi = try await cli.ok("vdi-create", "sr=\(sr)", "virtual-size=256MiB")
        let attached = try await cli.json(Attached.self, "vdi-attach", "uuid=\(vdi)")
        defer { _ = try? cli.run("vdi-detach", "uuid=\(vdi)") }
        let uri = "nbd+unix:///\(vdi)?socket=\(attached.socket)"
        let writes = 200
        func pattern(_ index: Int) -> Int { index % 250 + 3 }
        var commands: [String] = []
        for index in 0..<writes { commands += ["-c", "write -P \(pattern(index)) \(index)M 64k"] }
        let writer = try Tool.require("qemu-io").start(["-f", "raw"] + commands + [uri])
        var snapshots: [String] = []
        while writer.isRunning || snapshots.isEmpty {
            await snapshots.append(try cli.ok("vdi-snapshot", "uuid=\(vdi)"))
            if snapshots.count >= 8 { break }
        }
        let result = try await writer.wait(timeout: 120)
        #expect(result.status == 0, "\(result)")
        #expect(snapshots.count >= 2, "the writer finished before a second snapshot; the test proves less")
        var checks: [String] = []
        for index in 0..<writes { checks += ["-c", "read -P \(pattern(index)) \(index)M 64k"] }
        let verify = try await Tool.require("qemu-io").run(["-f", "raw", "-r"] + checks + [uri], timeout: 120)
        #expect(verify.status == 0 && !verify.output.contains("Pattern verification failed"), "\(verify.output.suffix(400))")
        let root = cli.srParent + "/" + sr
        let vhdUtil = try #require(Self.builtTool("vhd-util"))
        for name in try FileManager.default.contentsOfDirectory(atPath: root) where name.hasSuffix(".vhd") {
            _ = try await Tool(name: "vhd-util", path: vhdUtil).run(["check", "-n", root + "/" + name], timeout: 30).requireSuccess()
        }
    }

    static func builtTool(_ name: String) -> String? {
        guard let binary = CLIHarness.binary else { return nil }
        let path = URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent(name).path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }
}
