import BlockIO
import Foundation
import Synchronization
import TestSupport
import Testing
import VHD

@testable import NBD

/// `ChainExport` under concurrent use: reads run in parallel with each other, never with a
/// trim or write, because a trim can free space a later allocation reuses.
@Suite struct ChainExportTests {
    static let blockSize: UInt64 = 512 << 10
    static let blockCount = 6

    /// Every byte of block `block` is written as `block + 1`, so a read can tell whose data
    /// it got: zeroes (trimmed) or its own block's byte are fine, another block's never.
    static func fill(_ export: ChainExport, block: Int) throws {
        let bytes = [UInt8](repeating: UInt8(block + 1), count: Int(blockSize))
        try bytes.withUnsafeBytes { try export.write($0, at: UInt64(block) * blockSize) }
    }

    @Test func readsDuringTrimsAndReallocationsNeverSeeAnotherBlocksData() async throws {
        try await onOwnThread {
            let store = MemoryBlockStore()
            let image = try Create.image(
                on: store, options: .init(virtualSize: Self.blockSize * UInt64(Self.blockCount), blockSize: UInt32(Self.blockSize)))
            let export = ChainExport(chain: Chain(layers: [image]))
            for block in 0..<Self.blockCount { try Self.fill(export, block: block) }

            let stop = Atomic<Bool>(false)
            let foreign = Atomic<Int>(0)
            let reads = Atomic<Int>(0)
            // Threads of their own: the global dispatch queue may be busy with other suites.
            let finished = DispatchSemaphore(value: 0)
            for _ in 0..<2 {
                Thread.detachNewThread {
                    defer { finished.signal() }
                    var generator = SystemRandomNumberGenerator()
                    var buffer = [UInt8](repeating: 0, count: 64 << 10)
                    while !stop.load(ordering: .relaxed) {
                        let block = Int.random(in: 0..<Self.blockCount, using: &generator)
                        let within = UInt64.random(in: 0..<(Self.blockSize - UInt64(buffer.count)) / 512, using: &generator) * 512
                        let ok: Bool = buffer.withUnsafeMutableBytes { raw in
                            (try? export.read(into: raw, at: UInt64(block) * Self.blockSize + within)) != nil
                        }
                        if !ok || buffer.contains(where: { $0 != 0 && $0 != UInt8(block + 1) }) {
                            foreign.add(1, ordering: .relaxed)
                        }
                        reads.add(1, ordering: .relaxed)
                    }
                }
            }
            // Trim blocks (the last ones too, so the file shrinks and their space is handed out
            // again) and write them back, which allocates at the new end of the file.
            var generator = SystemRandomNumberGenerator()
            let deadline = Date().addingTimeInterval(30)
            var trims = 0
            while (trims < 20 || reads.load(ordering: .relaxed) < 200) && Date() < deadline {
                let first = Int.random(in: 0..<Self.blockCount, using: &generator)
                let last = Int.random(in: first..<Self.blockCount, using: &generator)
                try export.trim(UInt64(first) * Self.blockSize..<UInt64(last + 1) * Self.blockSize)
                for block in (first...last).shuffled(using: &generator) { try Self.fill(export, block: block) }
                trims += 1
                usleep(200)  // lets the readers in between rounds
            }
            stop.store(true, ordering: .relaxed)
            finished.wait()
            finished.wait()
            #expect(foreign.load(ordering: .relaxed) == 0)
            #expect(trims >= 20 && reads.load(ordering: .relaxed) >= 200, "\(trims) trims, \(reads.load(ordering: .relaxed)) reads")
            // Every block was written back last: the disk reads as before.
            for block in 0..<Self.blockCount {
                var bytes = [UInt8](repeating: 0, count: Int(Self.blockSize))
                try bytes.withUnsafeMutableBytes { try export.read(into: $0, at: UInt64(block) * Self.blockSize) }
                #expect(bytes.allSatisfy { $0 == UInt8(block + 1) }, "block \(block)")
            }
        }
    }
}
