import BlockIO
import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing
import VHD
import VHDFormat

/// More parents and more writers for the reference model: snapshots of a fixed VHD and of a
/// raw file (blktap `snapshot -m`), a child whose block size differs from its parent's, `fill`,
/// and concurrent writers.
extension ReferenceModelTests {
    enum ParentKind: String, CaseIterable, Sendable { case fixedVHD, rawFile, smallBlocks }

    /// The child takes random writes over a parent of each kind, then is coalesced into it:
    /// the parent alone must then read as the chain did.
    @Test(arguments: ParentKind.allCases)
    func snapshotOverEachParentKindThenCoalesce(kind: ParentKind) async throws {
        var generator = SeededGenerator(seed: 41)
        let directory = try TemporaryDirectory(prefix: "model-parents")
        let size: UInt64 = (10 << 20) + 1024
        let childPath = directory.path(for: "child.vhd")
        var model = DiskModel(size: size)
        var options = Snapshot.Options()
        let parentPath: String
        switch kind {
        case .fixedVHD:
            parentPath = directory.path(for: "fixed.vhd")
            let parent = try Disks.create(parentPath, size: size, type: .fixed)
            try Self.randomWrites(30, to: Chain(layers: [parent]), model: &model, blockSize: 2 << 20, using: &generator)
        case .rawFile:
            parentPath = directory.path(for: "base.raw")
            let raw = try FileBlockStore.create(path: parentPath, size: size)
            for _ in 0..<30 {
                let write = Self.randomWrite(size: size, blockSize: 2 << 20, using: &generator)
                try raw.write(write.bytes, at: write.offset)
                model.write(write.bytes, at: write.offset)
            }
            options.parentIsRaw = true
        case .smallBlocks:
            parentPath = directory.path(for: "base.vhd")
            let parent = try Disks.create(parentPath, size: size)
            try Self.randomWrites(30, to: Chain(layers: [parent]), model: &model, blockSize: 2 << 20, using: &generator)
            options.blockSize = 128 << 10
        }
        _ = try Snapshot.file(at: childPath, parent: parentPath, options: options)
        let chain = try Disks.chain(childPath, writable: true)
        #expect(chain.depth == 2)
        #expect((chain.rawBase != nil) == (kind == .rawFile))
        try Self.randomWrites(60, to: chain, model: &model, blockSize: UInt64(options.blockSize), using: &generator)
        try Disks.expectEqual(try Disks.chain(childPath), model)

        _ = try Coalesce.file(child: childPath)
        if kind == .rawFile {
            let raw = try FileBlockStore(path: parentPath, readOnly: true)
            #expect(Disks.firstDifference(try raw.read(count: Int(size), at: 0), model.read(0..<size)) == nil)
        } else {
            try Disks.expectEqual(try Disks.chain(parentPath), model)
        }
    }

    /// `fill` copies the whole chain into the leaf: the leaf alone (its parent link cut by
    /// reading it as a one-layer chain) then reads as the model.
    @Test func fillMakesTheLeafSelfContained() async throws {
        var generator = SeededGenerator(seed: 51)
        let directory = try TemporaryDirectory(prefix: "model-fill")
        let size: UInt64 = (7 << 20) + 512
        let basePath = directory.path(for: "base.vhd")
        let leafPath = directory.path(for: "leaf.vhd")
        var model = DiskModel(size: size)
        try Self.randomWrites(25, to: Chain(layers: [try Disks.create(basePath, size: size)]), model: &model, blockSize: 2 << 20, using: &generator)
        _ = try Snapshot.file(at: leafPath, parent: basePath)
        try Self.randomWrites(25, to: try Disks.chain(leafPath, writable: true), model: &model, blockSize: 2 << 20, using: &generator)
        try Fill.file(path: leafPath)
        let leaf = try Disks.open(leafPath)
        #expect(leaf.bat.allocatedCount == leaf.usedBlockCount)
        let alone = Chain(layers: [leaf])
        var everything = [UInt8](repeating: 0, count: Int(size))
        for extent in try leaf.extents(in: 0..<size) where !extent.isPresent {
            Issue.record("after fill, \(extent.range) is still not in the leaf")
        }
        try everything.withUnsafeMutableBytes { try alone.read(into: $0, at: 0) }
        #expect(Disks.firstDifference(everything, model.read(0..<size)) == nil)
    }

    /// Four writers, each owning every fourth 64 KiB stripe (so they share blocks and bitmap
    /// sectors but never a sector), and a reader, all at once on one chain; the result must
    /// be the model, in the open chain and after reopening.
    @Test(arguments: StoreKind.allCases)
    func concurrentWritersOfDisjointStripes(store kind: StoreKind) async throws {
        let directory = try TemporaryDirectory(prefix: "model-concurrent")
        let size: UInt64 = 16 << 20
        let stripe: UInt64 = 64 << 10
        let writers = 4
        let store: any BlockStore =
            kind == .memory ? MemoryBlockStore(name: "concurrent.vhd") : try FileBlockStore.create(path: directory.path(for: "c.vhd"))
        let chain = Chain(layers: [try Create.image(on: store, options: .init(virtualSize: size))])
        let results = Mutex<[(offset: UInt64, bytes: [UInt8])]>([])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: writers + 1) { worker in
            var generator = SeededGenerator(seed: 100 + UInt64(worker))
            do {
                if worker == writers {
                    for _ in 0..<200 {
                        let offset = UInt64.random(in: 0..<size - 65536, using: &generator)
                        _ = try Disks.read(chain, offset..<offset + 65536)
                    }
                    return
                }
                for _ in 0..<60 {
                    let stripes = size / stripe
                    let index = UInt64.random(in: 0..<stripes / UInt64(writers), using: &generator) * UInt64(writers)
                        + UInt64(worker)
                    let start = index * stripe + UInt64.random(in: 0..<stripe / 512, using: &generator) * 512
                    let count = Int.random(in: 1...Int((index + 1) * stripe - start) / 512, using: &generator) * 512
                    let bytes = pattern(count: count, seed: UInt8.random(in: 1...255, using: &generator))
                    try bytes.withUnsafeBytes { try chain.write($0, at: start) }
                    results.withLock { $0.append((start, bytes)) }
                }
            } catch {
                failures.withLock { $0.append("worker \(worker): \(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        var model = DiskModel(size: size)
        for write in results.withLock({ $0 }) { model.write(write.bytes, at: write.offset) }
        try Disks.expectEqual(chain, model)
        try Disks.expectEqual(Chain(layers: [try Image.open(store: store)]), model)
    }
}
