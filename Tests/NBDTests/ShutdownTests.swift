import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import NBD

/// `NBDServer.shutdown(grace:)` through a raw client: in-flight requests finish, new ones get
/// `NBD_ESHUTDOWN` (108), handshakes get `NBD_REP_ERR_SHUTDOWN`, and the method returns when the
/// clients leave or the grace period ends.
@Suite(.timeLimit(.minutes(1))) struct ShutdownTests {
    let directory: TemporaryDirectory
    let export = GatedExport()
    let server: NBDServer

    init() throws {
        directory = try TemporaryDirectory(prefix: "nbd-shutdown")
        // Concurrent requests, so one can stay in flight while the next is refused.
        server = NBDServer(
            endpoint: .unix(path: directory.path(for: "s.sock")), exports: ["gated": export], requestsPerConnection: 16)
        try server.start()
    }

    /// How long a background `shutdown(grace:)` took, once it returned.
    final class Elapsed: Sendable {
        let seconds = Mutex(-1.0)
    }

    /// Runs `shutdown(grace:)` on another thread; the returned semaphore is signalled when it
    /// returns, and `Elapsed` then holds how long it took.
    func shutdownInBackground(grace: Double) -> (DispatchSemaphore, Elapsed) {
        let done = DispatchSemaphore(value: 0)
        let elapsed = Elapsed()
        let server = self.server
        Thread.detachNewThread {
            let start = Date()
            server.shutdown(grace: grace)
            elapsed.seconds.withLock { $0 = Date().timeIntervalSince(start) }
            done.signal()
        }
        while !server.isShuttingDown { usleep(1000) }
        return (done, elapsed)
    }

    @Test func inFlightRequestsFinishNewOnesGetESHUTDOWNAndItReturnsWhenClientsLeave() async throws {
        try await onOwnThread {
            let client = try RawClient(server.socketPath!)
            #expect(try client.connect(to: "gated", structured: false).last == OptionReplyType.ack)
            let slow = try client.request(Command.read.rawValue, offset: 0, length: 4096)
            export.started.wait()
            let (done, elapsed) = shutdownInBackground(grace: 20)

            // Arriving after shutdown began: refused, even while the slow read is still running,
            // so this reply overtakes it.
            let refusedRead = try client.request(Command.read.rawValue, offset: 8192, length: 512)
            #expect(try client.simpleReply() == (NBDErrno.eshutdown, refusedRead))
            let refusedWrite = try client.request(
                Command.write.rawValue, offset: 8192, length: 512, payload: [UInt8](repeating: 1, count: 512))
            #expect(try client.simpleReply() == (NBDErrno.eshutdown, refusedWrite))
            #expect(server.connectionCount == 1)

            // The read in flight completes with its data.
            export.gate.signal()
            #expect(try client.simpleReply() == (0, slow))
            #expect(try client.socket.read(exactly: 4096) == [UInt8](repeating: 0x5A, count: 4096))

            // The client disconnects softly; shutdown returns long before its grace period.
            try client.request(Command.disconnect.rawValue, offset: 0, length: 0)
            done.wait()
            #expect(elapsed.seconds.withLock { $0 } < 10)
            #expect(!FileManager.default.fileExists(atPath: server.socketPath!))
            #expect(throws: NBDError.self) { try RawClient(server.socketPath!) }
        }
    }

    @Test func aClientThatStaysIsDisconnectedWhenTheGracePeriodEnds() async throws {
        try await onOwnThread {
            let client = try RawClient(server.socketPath!)
            _ = try client.connect(to: "gated", structured: true)
            let (done, elapsed) = shutdownInBackground(grace: 0.5)
            _ = try client.request(Command.read.rawValue, offset: 4096, length: 512)
            let refused = try client.chunk()
            #expect(refused.type == Reply.ChunkType.error && Array(refused.payload.prefix(4)) == [0, 0, 0, 108])
            done.wait()
            let took = elapsed.seconds.withLock { $0 }
            #expect(took >= 0.5 && took < 10)
            #expect(client.isClosedByServer())
        }
    }

    @Test func optionsInAHandshakeGetERRSHUTDOWN() async throws {
        try await onOwnThread {
            let client = try RawClient(server.socketPath!)
            try client.greet()
            let (done, _) = shutdownInBackground(grace: 20)
            try client.sendOption(OptionCode.go, RawClient.nameData("gated"))
            #expect(try client.optionReplies() == [OptionReplyType.errorShutdown])
            try client.sendOption(OptionCode.abort)
            #expect(try client.optionReplies() == [OptionReplyType.ack])
            client.close()
            done.wait()
            #expect(server.connectionCount == 0)
        }
    }
}
