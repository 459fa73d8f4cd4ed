import Datapath
import Foundation
import SM
import TestSupport
import Testing

@testable import DatapathBackend

/// What the NBD backend does about what crashes leave behind: pauses never resumed, pid files
/// of daemons long dead, consumers that disagree on the mode.
@Suite(.serialized, .enabled(if: GuestDisk.available, Comment(rawValue: GuestDisk.missing)), .timeLimit(.minutes(3)))
struct DatapathRecoveryTests {
    @Test func aPauseLeftByAnSMThatDiedIsResumedByTheNextOperationOnTheSR() async throws {
        let cli = try CLIHarness()
        let sr = try await cli.createSR()
        let vdi = try await cli.ok("vdi-create", "sr=\(sr)", "virtual-size=64MiB")
        let attached = try await cli.json(DatapathEndToEndTests.Attached.self, "vdi-attach", "uuid=\(vdi)")
        defer { _ = try? cli.run("vdi-detach", "uuid=\(vdi)") }
        // What NBDBlockBackend.pause leaves when its process dies before the resume: the
        // mark, then the daemon paused.
        let refcounts = HostPaths.fromEnvironment(cli.environment).refcounts
        _ = try refcounts.get(vdi, binary: true, namespace: "paused-" + sr)
        let client = DatapathClient(controlPath: cli.path("nbd/\(vdi).control"))
        _ = try client.pause(export: vdi)
        let writer = try Tool.require("qemu-io").start(
            ["-f", "raw", "-c", "write -P 5 0 64k", "nbd+unix:///\(vdi)?socket=\(attached.socket)"])
        usleep(300_000)
        #expect(writer.isRunning, "the write is held by the pause")
        try await cli.ok("sr-scan", "uuid=\(sr)")
        let result = try await writer.wait(timeout: 30)
        #expect(result.status == 0, "\(result)")
        #expect(try client.status().exports.first?.paused == false)
        #expect(try refcounts.objects(namespace: "paused-" + sr).isEmpty)
    }

    @Test func aStalePidFileNeverGetsAnotherProcessKilled() async throws {
        let directory = try TemporaryDirectory(prefix: "stale-pid")
        let paths = HostPaths(
            lockDirectory: directory.path(for: "lock"), refcountDirectory: directory.path(for: "ref"),
            mountBase: directory.path(for: "mnt"), stateDirectory: directory.path(for: "state"),
            datapathDirectory: directory.path)
        let backend = NBDBlockBackend(paths: paths, executable: "/bin/false", timeout: 0.3)
        let bystander = try Tool.require("sleep").start(["60"])
        defer { _ = try? bystander.stop() }
        let files = backend.files(for: Identifier.newUUID())
        try "\(bystander.processIdentifier)\n".write(toFile: files.pidFile, atomically: true, encoding: .utf8)
        backend.stopDaemon(files)
        #expect(bystander.isRunning, "a process that reused a dead daemon's pid was signalled")
        #expect(!FileManager.default.fileExists(atPath: files.pidFile))
    }

    @Test func aVDIIsActiveInOneModeAtATime() async throws {
        let cli = try CLIHarness()
        let sr = try await cli.createSR()
        let vdi = try await cli.ok("vdi-create", "sr=\(sr)", "virtual-size=64MiB")
        try await cli.ok("vdi-attach", "uuid=\(vdi)")
        defer { _ = try? cli.run("vdi-detach", "uuid=\(vdi)") }
        let readOnly = try await cli.run("vdi-attach", "uuid=\(vdi)", "mode=RO")
        #expect(readOnly.status != 0 && readOnly.errorOutput.contains("active read-write"), "\(readOnly)")
        // The read-write activation is intact: a snapshot still pauses it.
        let snapshot = try await cli.ok("vdi-snapshot", "uuid=\(vdi)")
        #expect(try String(contentsOfFile: cli.path("nbd/\(vdi).log"), encoding: .utf8).contains("paused"))
        #expect(!snapshot.isEmpty)
    }
}
