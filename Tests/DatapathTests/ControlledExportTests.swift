import BlockIO
import Datapath
import Foundation
import NBD
import Synchronization
import TestSupport
import Testing

/// The pause gate, the inner-export swap and the counters, driven by threads calling the
/// export directly (what the server's connection threads do).
@Suite(.timeLimit(.minutes(1)))
struct ControlledExportTests {
    static let block = 4096

    static func memoryExport(size: UInt64, fill: UInt8? = nil) throws -> StoreExport {
        let store = MemoryBlockStore(size: size, canGrow: false)
        if let fill { try store.write([UInt8](repeating: fill, count: Int(size)), at: 0) }
        return StoreExport(store: store)
    }

    @Test func pauseHoldsNewRequestsAndDrainsThoseInFlightAndUnpauseReleasesThemLosingNone() async throws {
        try await onOwnThread {
            let blocks = 2048
            let inner = try Self.memoryExport(size: UInt64(blocks * Self.block))
            let export = ControlledExport(inner)
            let writers = 4
            let done = DispatchGroup()
            let failures = Mutex(0)
            for writer in 0..<writers {
                done.enter()
                Thread {
                    defer { done.leave() }
                    for index in stride(from: writer, to: blocks, by: writers) {
                        let bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: index) | 1, count: Self.block)
                        do {
                            try bytes.withUnsafeBytes { raw in
                                try export.write(raw, at: UInt64(index * Self.block))
                            }
                        } catch {
                            failures.withLock { $0 += 1 }
                        }
                        usleep(500)  // keeps the writers going well past the pause below
                    }
                }.start()
            }
            while export.statistics.writes < 40 { usleep(100) }
            try export.pause()
            // Nothing is in flight once pause returns: every counted write is in the store, and
            // no further write lands while paused.
            let countedAtPause = export.statistics.writes
            let landedAtPause = try Self.blocksWritten(inner.store, blocks: blocks)
            #expect(landedAtPause == Int(countedAtPause))
            usleep(200_000)
            #expect(export.statistics.writes == countedAtPause)
            #expect(try Self.blocksWritten(inner.store, blocks: blocks) == landedAtPause)
            #expect(countedAtPause < UInt64(blocks), "the writers were still going when paused")
            #expect(export.unpause())
            #expect(done.wait(timeout: .now() + 30) == .success)
            #expect(failures.withLock { $0 } == 0)
            #expect(try Self.blocksWritten(inner.store, blocks: blocks) == blocks)
            #expect(export.statistics.writes == UInt64(blocks))
        }
    }

    @Test func pauseIsIdempotentAndUnpauseWhenNotPausedDoesNothing() async throws {
        try await onOwnThread {
            let first = try Self.memoryExport(size: 1 << 20, fill: 0x11)
            let export = ControlledExport(first)
            #expect(!export.unpause(replacement: try Self.memoryExport(size: 2 << 20)))
            #expect(export.inner === first)
            try export.pause()
            try export.pause()
            #expect(export.isPaused)
            #expect(export.unpause())
            #expect(!export.isPaused)
        }
    }

    @Test func unpauseWithAReplacementServesItAndTheSizeFollows() async throws {
        try await onOwnThread {
            let export = ControlledExport(try Self.memoryExport(size: 1 << 20, fill: 0x11))
            #expect(export.size == 1 << 20)
            try export.pause()
            let replacement = try Self.memoryExport(size: 2 << 20, fill: 0x22)
            #expect(export.unpause(replacement: replacement))
            #expect(export.size == 2 << 20)
            #expect(export.inner === replacement)
            var bytes = [UInt8](repeating: 0, count: 512)
            try bytes.withUnsafeMutableBytes { raw in try export.read(into: raw, at: (2 << 20) - 512) }
            #expect(bytes.allSatisfy { $0 == 0x22 })
        }
    }

    @Test func aRequestHeldByAPauseRunsAgainstTheReplacement() async throws {
        try await onOwnThread {
            let export = ControlledExport(try Self.memoryExport(size: 1 << 20, fill: 0x11))
            try export.pause()
            let result = Mutex<[UInt8]?>(nil)
            let finished = DispatchSemaphore(value: 0)
            Thread {
                var bytes = [UInt8](repeating: 0, count: 512)
                do {
                    try bytes.withUnsafeMutableBytes { raw in try export.read(into: raw, at: 0) }
                    result.withLock { $0 = bytes }
                } catch {
                    result.withLock { $0 = nil }
                }
                finished.signal()
            }.start()
            #expect(finished.wait(timeout: .now() + 0.3) == .timedOut, "the read is held while paused")
            export.unpause(replacement: try Self.memoryExport(size: 1 << 20, fill: 0x22))
            #expect(finished.wait(timeout: .now() + 10) == .success)
            #expect(result.withLock { $0 } == [UInt8](repeating: 0x22, count: 512))
        }
    }

    @Test func closeFailsHeldAndLaterRequestsWithClosed() async throws {
        try await onOwnThread {
            let export = ControlledExport(try Self.memoryExport(size: 1 << 20))
            try export.pause()
            let outcome = Mutex<NBDError?>(nil)
            let finished = DispatchSemaphore(value: 0)
            Thread {
                do throws(NBDError) { try export.flush() } catch { outcome.withLock { $0 = error } }
                finished.signal()
            }.start()
            #expect(finished.wait(timeout: .now() + 0.2) == .timedOut)
            try export.close()
            #expect(finished.wait(timeout: .now() + 10) == .success)
            #expect(outcome.withLock { $0 } == .closed)
            #expect(throws: NBDError.closed) { try export.flush() }
            #expect(!export.unpause(), "a closed export stays closed")
        }
    }

    @Test func aFailedFlushFailsThePauseAndLeavesTheExportPausedUntilUnpaused() async throws {
        try await onOwnThread {
            let faulty = FaultInjectingBlockStore(
                base: MemoryBlockStore(size: 1 << 20, canGrow: false),
                fault: .init(index: 0, counting: .flush, afterwards: .proceed))
            let export = ControlledExport(StoreExport(store: faulty))
            #expect(throws: NBDError.self) { try export.pause() }
            #expect(export.isPaused, "the files may not be durable: the caller decides")
            try export.pause()
            #expect(export.unpause())
        }
    }

    @Test func statisticsCountEachOperationItsBytesAndItsErrors() async throws {
        try await onOwnThread {
            let export = ControlledExport(try Self.memoryExport(size: 1 << 20))
            var buffer = [UInt8](repeating: 7, count: 8192)
            for offset in [0, 8192, 16384] as [UInt64] {
                try buffer.withUnsafeMutableBytes { raw in try export.read(into: raw, at: offset) }
            }
            for offset in [0, 65536] as [UInt64] {
                try buffer.withUnsafeBytes { raw in try export.write(raw, at: offset) }
            }
            try export.flush()
            try export.trim(0..<4096)
            try export.writeZeroes(4096..<8192, keepAllocated: true)
            _ = try export.blockStatus(0..<(1 << 20))
            #expect(throws: NBDError.self) {
                try buffer.withUnsafeMutableBytes { raw in try export.read(into: raw, at: 1 << 20) }
            }
            let statistics = export.statistics
            #expect(statistics.reads == 4 && statistics.bytesRead == 3 * 8192)
            #expect(statistics.writes == 2 && statistics.bytesWritten == 2 * 8192)
            #expect(statistics.flushes == 1 && statistics.trims == 1 && statistics.writeZeroes == 1)
            #expect(statistics.blockStatus == 1 && statistics.errors == 1)
            #expect(statistics.readLatency.count == 4 && statistics.writeLatency.count == 2)
            #expect(statistics.writeLatency.p50 <= statistics.writeLatency.p99)
            #expect(statistics.writeLatency.p99 <= statistics.writeLatency.max)
        }
    }

    /// How many 4 KiB blocks of `store` hold something other than zeroes.
    static func blocksWritten(_ store: any BlockStore, blocks: Int) throws -> Int {
        let bytes = try store.read(count: blocks * block, at: 0)
        return (0..<blocks).filter { index in bytes[index * block] != 0 }.count
    }
}
