import BlockIO
import Datapath
import Foundation
import TestSupport
import Testing

@testable import Datapath

/// The daemon as a process: launching, the pidfile, clean shutdown, being killed, stale and
/// live sockets, and its command line.
@Suite(.enabled(if: RunningDaemon.ready, Comment(rawValue: RunningDaemon.missing)), .timeLimit(.minutes(2)))
struct DaemonLifecycleTests {
    @Test func launchedDetachedItAnswersStatusAndWritesItsPidfile() async throws {
        let daemon = try await RunningDaemon.started()
        let status = try daemon.client.status()
        #expect(status.pid == daemon.pid)
        #expect(status.version == DatapathDaemon.version)
        #expect(status.exports.isEmpty)
        #expect(PIDFile(path: daemon.pidFile).read() == daemon.pid)
        #expect(DatapathLauncher.runningPID(pidFile: daemon.pidFile) == daemon.pid)
        #expect(getsid(daemon.pid) == daemon.pid, "the daemon leads a session of its own")
        // Only the owner may control it, serve its disks, or touch its files, whatever the
        // launcher's umask (this process's, at least 022, would leave the others readable).
        for path in [daemon.controlPath, daemon.socketPath, daemon.pidFile, daemon.logPath] {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(path)")
        }
        #expect(daemon.log.contains("serving NBD on \(daemon.socketPath)"))
    }

    @Test func theDaemonRunsFromTheRootAndInheritsNoDescriptorButItsStandardOnes() async throws {
        let directory = try TemporaryDirectory(prefix: "datapath")
        let lockPath = directory.path(for: "sr.lock")
        // An inheritable descriptor, as an SM lock file would be.
        let lock = open(lockPath, O_RDWR | O_CREAT, 0o644)
        #expect(lock >= 0)
        defer { close(lock) }
        let daemon = try await RunningDaemon.started(directory: directory)
        let cwd = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(daemon.pid)/cwd")
        #expect(cwd == "/")
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.pid)/fd")
        let targets = descriptors.compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(daemon.pid)/fd/\($0)")
        }
        #expect(!targets.contains(lockPath), "\(targets)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(daemon.pid)/fd/0") == "/dev/null")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(daemon.pid)/fd/2") == daemon.logPath)
    }

    @Test(arguments: [false, true])
    func sigtermOrTheShutdownOperationStopsCleanlyAndRemovesSocketsAndPidfile(viaControl: Bool) async throws {
        let directory = try TemporaryDirectory(prefix: "datapath")
        let raw = directory.path(for: "disk.raw")
        _ = try FileBlockStore.create(path: raw, size: 4 << 20)
        let daemon = try await RunningDaemon.started(
            directory: directory, exports: [ExportSpec(name: "disk", path: raw, readOnly: true)])
        #expect(
            try daemon.client.status().exports
                == [ExportStatus(name: "disk", path: raw, readOnly: true, paused: false, size: 4 << 20)])
        let status: Int32?
        if viaControl {
            try daemon.client.shutdown()
            status = try await daemon.reaped()
        } else {
            status = try await daemon.signalledAndReaped(SIGTERM)
        }
        let exited = try #require(status, "the daemon did not exit; log:\n\(daemon.log)")
        #expect(exited == 0, "wait status \(exited); log:\n\(daemon.log)")
        for path in [daemon.socketPath, daemon.controlPath, daemon.pidFile] {
            #expect(!FileManager.default.fileExists(atPath: path), "\(path) left behind")
        }
        #expect(daemon.log.contains("stopped"))
    }

    @Test func shutdownWithAPausedExportFailsTheHeldRequestInsteadOfHanging() async throws {
        let daemon = try await RunningDaemon.started()
        let raw = try daemon.rawFile("a.raw", size: 4 << 20)
        try daemon.client.open(export: "a", path: raw)
        try daemon.client.pause(export: "a")
        let writer = try Tool.require("qemu-io").start(["-f", "raw", "-c", "write -P 0x44 0 64k", daemon.uri("a")])
        try await Task.sleep(for: .microseconds(500_000))
        #expect(writer.isRunning, "held by the pause")
        let status = try #require(try await daemon.signalledAndReaped(SIGTERM), "the daemon hung; log:\n\(daemon.log)")
        #expect(status == 0)
        await #expect(!(try writer.wait(timeout: 20).succeeded))
    }

    @Test func aDaemonThatAcceptsButNeverAnswersTimesTheClientOut() async throws {
        let directory = try TemporaryDirectory(prefix: "datapath")
        let path = directory.path(for: "mute.sock")
        let listener = try ControlSocket.listen(path: path)
        let client = DatapathClient(controlPath: path, connectTimeout: 1, replyTimeout: 0.3)
        #expect(throws: DatapathError.timedOut(path: path, waitingFor: "answer status", seconds: 0.3)) {
            try client.status()
        }
        _ = listener
    }

    @Test func afterSIGKILLTheClientReportsUnreachableAndANewDaemonReplacesTheStaleSockets() async throws {
        let daemon = try await RunningDaemon.started()
        _ = try #require(try await daemon.signalledAndReaped(SIGKILL))
        #expect(FileManager.default.fileExists(atPath: daemon.controlPath), "SIGKILL leaves the socket file")
        #expect(DatapathLauncher.runningPID(pidFile: daemon.pidFile) == nil)
        #expect {
            try daemon.client.status()
        } throws: { error in
            guard case .unreachable(let path, let errno) = error as? DatapathError else { return false }
            return path == daemon.controlPath && errno == ECONNREFUSED
        }
        try await daemon.relaunched()
        #expect(try daemon.client.status().pid == daemon.pid)
        #expect(daemon.log.contains("removing stale socket \(daemon.controlPath)"))
    }

    @Test func aSecondDaemonOnLiveSocketsRefusesToStartAndTheFirstKeepsServing() async throws {
        let daemon = try await RunningDaemon.started()
        let raw = try daemon.rawFile("a.raw", size: 4 << 20)
        try daemon.client.open(export: "a", path: raw)
        #expect {
            _ = try daemon.launch()
        } throws: { error in
            guard case .launchFailed(_, let log) = error as? DatapathError else { return false }
            return log.contains("another daemon is listening on \(daemon.socketPath)")
        }
        #expect(try daemon.client.status().pid == daemon.pid)
        _ = try await Tool.require("nbdinfo").run(["--size", daemon.uri("a")], timeout: 20).requireSuccess()
    }

    @Test func withTCPItServesTheSameExportsOnTheLoopbackPortStatusReports() async throws {
        let daemon = try await RunningDaemon.started(tcp: "0")
        let raw = try daemon.rawFile("a.raw", size: 4 << 20, fill: 0x3c)
        try daemon.client.open(export: "a", path: raw, readOnly: true)
        let port = try #require(try daemon.client.status().tcpPort)
        #expect(port != 0)
        _ = try await Tool.require("qemu-io").run(
            ["-f", "raw", "-r", "-c", "read -P 0x3c 0 4M", "nbd://127.0.0.1:\(port)/a"], timeout: 20
        ).requireSuccess()
    }

    @Test func aClientOfADaemonNeverStartedReportsUnreachable() async throws {
        let directory = try TemporaryDirectory(prefix: "datapath")
        let client = DatapathClient(controlPath: directory.path(for: "none.sock"))
        #expect(throws: DatapathError.unreachable(path: directory.path(for: "none.sock"), errno: ENOENT)) {
            try client.status()
        }
    }

    @Test func helpPrintsUsageAndABadCommandLineExitsTwoSayingWhy() async throws {
        let tool = Tool(name: "sm-datapathd", path: try #require(RunningDaemon.binary))
        let help = try await tool.run(["--help"], timeout: 10)
        #expect(help.status == 0 && help.output.contains("usage: sm-datapathd --socket PATH --control PATH"))
        let bad = try await tool.run(
            ["--socket", "/tmp/x.sock", "--control", "/tmp/y.sock", "--export", "nopath"], timeout: 10)
        #expect(bad.status == 2)
        #expect(bad.errorOutput.contains("sm-datapathd: --export nopath: expected NAME=PATH[:ro]"))
        let missing = try await tool.run(["--control", "/tmp/y.sock"], timeout: 10)
        #expect(missing.status == 2 && missing.errorOutput.contains("--socket PATH is required"))
    }

    @Test func anExportThatCannotBeOpenedStopsTheStartWithTheReasonInTheLog() async throws {
        let directory = try TemporaryDirectory(prefix: "datapath")
        #expect {
            _ = try RunningDaemon(
                directory: directory, exports: [ExportSpec(name: "x", path: directory.path(for: "missing.vhd"))])
        } throws: { error in
            guard case .launchFailed(_, let log) = error as? DatapathError else { return false }
            return log.contains("cannot open \(directory.path(for: "missing.vhd"))")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.path(for: "control.sock")))
    }
}
