import Datapath
import Foundation
import TestSupport
import Testing

/// A structured READ of a VHD export is one request to the counters, whatever mix of data and
/// holes it covers, and never a block-status request the client did not send.
@Suite(.enabled(if: RunningDaemon.ready, Comment(rawValue: RunningDaemon.missing)), .timeLimit(.minutes(2)))
struct StructuredReadStatisticsTests {
    @Test func eachReadCountsOnceWithItsWholeLength() async throws {
        try await onOwnThread {
            let daemon = try RunningDaemon()
            let vhd = try daemon.vhdFile("a.vhd", size: 32 << 20, fill: 0x42)
            try daemon.client.open(export: "a", path: vhd)
            // All data (the first MiB), all hole, and one straddling both.
            _ = try Tool.require("qemu-io").run(
                ["-f", "raw", "-c", "read -P 0x42 0 4k", "-c", "read -P 0 16M 64k", "-c", "read 960k 128k", daemon.uri("a")],
                timeout: 20
            ).requireSuccess()
            let statistics = try #require(try daemon.client.statistics(export: "a")["a"])
            #expect(statistics.reads == 3, "\(statistics)")
            #expect(statistics.bytesRead == (4 << 10) + (64 << 10) + (128 << 10), "\(statistics)")
            #expect(statistics.blockStatus == 0, "\(statistics)")
            #expect(statistics.readLatency.count == 3, "\(statistics)")
        }
    }
}
