import Datapath
import DatapathBackend
import Foundation
import TestSupport
import Testing

/// A datapath daemon that stops answering (stopped with SIGSTOP here; a wedged one alike)
/// costs an `sm` command at most `SM_DATAPATH_TIMEOUT` per call into it, reported as
/// `TapdiskFailed` (453) naming the VDI, the pid and what timed out; the SR lock is released,
/// and detach kills the daemon so the VDI can be attached again.
@Suite(
    .serialized,
    .enabled(
        if: CLIHarness.binary != nil && Tool.isAvailable("nbdinfo"),
        "needs sm and sm-datapathd built next to the tests, and nbdinfo (libnbd-bin)"),
    .timeLimit(.minutes(3)))
struct DatapathTimeoutTests {
    /// The configured timeout; every bound below is a small multiple of it, far under the
    /// minute a stopped daemon used to cost.
    static let timeout = "1"

    @Test func aStoppedDaemonFailsSnapshotAndStatsInBoundedTimeAndDetachKillsIt() async throws {
        try await onOwnThread { try Self.stoppedDaemonScenario() }
    }

    static func stoppedDaemonScenario() throws {
        let cli = try CLIHarness(environment: [DatapathTimeout.variable: timeout])
        let sr = try cli.createSR()
        let vdi = try cli.ok("vdi-create", "sr=\(sr)", "virtual-size=64MiB")
        try cli.ok("vdi-attach", "uuid=\(vdi)")
        let pid = try cli.daemonPID(vdi)
        #expect(kill(pid, SIGSTOP) == 0)
        defer { kill(pid, SIGKILL) }

        for command in ["vdi-snapshot", "vdi-stats"] {
            let (result, seconds) = try timed { try cli.run(command, "uuid=\(vdi)") }
            #expect(result.status != 0, "\(command): \(result)")
            #expect(seconds < 5, "\(command) took \(seconds) s")
            let message = result.errorOutput
            for part in ["453", "TapdiskFailed", vdi, "pid \(pid)", "did not answer status within 1.0 s"] {
                #expect(message.contains(part), "\(command): no '\(part)' in: \(message)")
            }
        }
        // The SR lock was released and the failed snapshot left nothing behind.
        let (other, createSeconds) = try timed { try cli.run("vdi-create", "sr=\(sr)", "virtual-size=8MiB") }
        #expect(other.status == 0 && createSeconds < 5, "\(other), \(createSeconds) s")
        let records = try cli.json([VDIListingJSON].self, "vdi-list", "sr=\(sr)").first?.vdis ?? []
        #expect(records.count == 2 && !records.contains(where: \.isASnapshot), "\(records.map(\.uuid))")

        let (detach, detachSeconds) = try timed { try cli.run("vdi-detach", "uuid=\(vdi)") }
        #expect(detach.status == 0, "\(detach)")
        #expect(detachSeconds < 6, "vdi-detach took \(detachSeconds) s")
        var waited = 0
        while PIDFile.isAlive(pid), waited < 300 {
            usleep(10_000)
            waited += 1
        }
        #expect(!PIDFile.isAlive(pid), "the stopped daemon outlived its detach")
        let left = try FileManager.default.contentsOfDirectory(atPath: cli.path("nbd")).filter { !$0.hasSuffix(".log") }
        #expect(left.isEmpty, "\(left)")

        let again = try cli.json(DatapathEndToEndTests.Attached.self, "vdi-attach", "uuid=\(vdi)")
        defer { _ = try? cli.run("vdi-detach", "uuid=\(vdi)") }
        #expect(try cli.daemonPID(vdi) != pid)
        let size = try Tool.require("nbdinfo").run(
            ["--size", "nbd+unix:///\(vdi)?socket=\(again.socket)"], timeout: 30)
        #expect(size.output.trimmingCharacters(in: .whitespacesAndNewlines) == String(64 << 20), "\(size)")
    }

    /// `body`'s result and the seconds it took.
    static func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let start = Date()
        let result = try body()
        return (result, Date().timeIntervalSince(start))
    }
}
