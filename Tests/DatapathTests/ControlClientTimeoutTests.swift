import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Datapath

/// Every control call is bounded as a whole: a daemon that accepts and then trickles bytes
/// (each `recv` returning in time) cannot keep the caller, and so the SR lock, past the
/// client's reply timeout.
@Suite struct ControlClientTimeoutTests {
    @Test func aPeerThatTricklesAReplyTimesOutAtTheDeadline() async throws {
        let directory = try TemporaryDirectory(prefix: "datapath")
        let path = directory.path(for: "slow.sock")
        let listener = try ControlSocket.listen(path: path)
        let stop = Atomic<Bool>(false)
        // One byte every 50 ms, never a newline, for up to 5 s: its own thread, never the pool's.
        let trickler = Thread {
            guard let connection = try? listener.accept() else { return }
            for _ in 0..<100 where !stop.load(ordering: .relaxed) {
                guard (try? connection.write([UInt8(ascii: "{")])) != nil else { return }
                usleep(50_000)
            }
        }
        trickler.start()
        defer { stop.store(true, ordering: .relaxed) }
        let client = DatapathClient(controlPath: path, timeout: 0.5)
        let (outcome, seconds) = try await onOwnThread { () -> (Result<DatapathClient.Status, DatapathError>, Double) in
            let start = Date()
            let outcome = Result { () throws(DatapathError) in try client.status() }
            return (outcome, Date().timeIntervalSince(start))
        }
        #expect(throws: DatapathError.timedOut(path: path, waitingFor: "answer status", seconds: 0.5)) {
            try outcome.get()
        }
        #expect(seconds < 2, "the call took \(seconds) s")
    }
}
