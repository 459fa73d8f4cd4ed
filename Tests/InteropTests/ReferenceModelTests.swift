import BlockIO
import Foundation
import TestSupport
import Testing
import VHD
import VHDFormat

/// Random, seeded write sequences checked byte for byte against `DiskModel`, a plain
/// in-memory disk: through plain writes (over both stores), snapshots (writes go to the new
/// leaf, the old leaf is read-only and never changes), coalesce and resize. A failure names
/// the seed; rerun that argument to replay it exactly.
@Suite(.timeLimit(.minutes(5)))
struct ReferenceModelTests {
    enum StoreKind: String, CaseIterable, Sendable { case memory, file }

    /// A random write: any byte alignment half the time, often straddling a block boundary,
    /// up to three blocks long (capped to keep the model small).
    static func randomWrite(
        size: UInt64, blockSize: UInt64, using generator: inout SeededGenerator
    ) -> (offset: UInt64, bytes: [UInt8]) {
        let maximum = min(3 * blockSize, 768 << 10, size)
        var count = UInt64.random(in: 1...maximum, using: &generator)
        var offset: UInt64
        switch UInt8.random(in: 0..<4, using: &generator) {
        case 0:  // straddle a block boundary
            let boundary = UInt64.random(in: 1...max(1, (size - 1) / blockSize), using: &generator) * blockSize
            offset = min(boundary, size) - min(boundary, UInt64.random(in: 1...min(count, boundary), using: &generator))
        case 1:  // whole sectors
            offset = UInt64.random(in: 0..<size / 512, using: &generator) * 512
            count = max(512, count / 512 * 512)
        default:  // anywhere
            offset = UInt64.random(in: 0..<size, using: &generator)
        }
        count = min(count, size - offset)
        if count == 0 { (offset, count) = (size - 1, 1) }
        let seed = UInt8.random(in: 1...255, using: &generator)
        return (offset, pattern(count: Int(count), seed: seed))
    }

    /// Applies `count` random writes through `chain`, checking each write's range right away.
    static func randomWrites(
        _ count: Int, to chain: Chain, model: inout DiskModel, blockSize: UInt64, using generator: inout SeededGenerator
    ) throws {
        for _ in 0..<count {
            let write = randomWrite(size: model.size, blockSize: blockSize, using: &generator)
            try write.bytes.withUnsafeBytes { try chain.write($0, at: write.offset) }
            model.write(write.bytes, at: write.offset)
            let range = write.offset..<write.offset + UInt64(write.bytes.count)
            #expect(Disks.firstDifference(try Disks.read(chain, range), model.read(range)) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases, [1, 2, 3] as [UInt64])
    func randomWritesMatchTheModel(store kind: StoreKind, seed: UInt64) async throws {
        var generator = SeededGenerator(seed: seed)
        let directory = try TemporaryDirectory(prefix: "model")
        let size: UInt64 = (11 << 20) + 1536
        let blockSize: UInt32 = seed == 2 ? 64 << 10 : 2 << 20
        let store: any BlockStore =
            kind == .memory ? MemoryBlockStore(name: "model.vhd") : try FileBlockStore.create(path: directory.path(for: "model.vhd"))
        let image = try Create.image(on: store, options: .init(virtualSize: size, blockSize: blockSize))
        var model = DiskModel(size: size)
        let chain = Chain(layers: [image])
        try Self.randomWrites(200, to: chain, model: &model, blockSize: UInt64(blockSize), using: &generator)
        try Disks.expectEqual(chain, model)

        // What was written must be on the store, not only in the open image's state.
        let reopened = Chain(layers: [try Image.open(store: store, options: .readOnly)])
        try Disks.expectEqual(reopened, model)
    }

    /// A chain grown by snapshots with random writes into each new leaf; every old leaf keeps
    /// its bytes, refuses writes, and still reads as the model did when it was the leaf.
    @Test(arguments: [11, 12] as [UInt64])
    func snapshotsFreezeTheOldLeaf(seed: UInt64) async throws {
        var generator = SeededGenerator(seed: seed)
        let directory = try TemporaryDirectory(prefix: "model-snap")
        let size: UInt64 = (9 << 20) + 512
        var paths = [directory.path(for: "base.vhd")]
        var model = DiskModel(size: size)
        try Self.randomWrites(
            20, to: Chain(layers: [try Disks.create(paths[0], size: size)]), model: &model, blockSize: 2 << 20,
            using: &generator)
        var frozen: [(path: String, state: Disks.FileState, model: DiskModel)] = []
        for layer in 1...3 {
            frozen.append((paths[layer - 1], try Disks.FileState(paths[layer - 1]), model))
            paths.append(directory.path(for: "snap\(layer).vhd"))
            _ = try Snapshot.file(at: paths[layer], parent: paths[layer - 1])
            let chain = try Disks.chain(paths[layer], writable: true)
            #expect(chain.layers.count == layer + 1)
            try Self.randomWrites(50, to: chain, model: &model, blockSize: 2 << 20, using: &generator)
            try Disks.expectEqual(chain, model)

            // The old leaf is a read-only layer now.
            #expect(!chain.layers[1].isWritable)
            #expect(throws: VHDError.readOnly(image: chain.layers[1].name)) {
                try [UInt8](repeating: 1, count: 512).withUnsafeBytes { try chain.layers[1].write($0, at: 0) }
            }
        }
        for old in frozen {
            #expect(try Disks.FileState(old.path) == old.state, "\(old.path) changed after it was snapshotted")
            try Disks.expectEqual(try Disks.chain(old.path), old.model)
        }
    }

    /// Coalescing the leaf into its parent leaves the parent reading as the whole chain did,
    /// and the child unchanged; a child grown past its parent must wait for the parent's resize.
    @Test(arguments: [21, 22] as [UInt64])
    func coalesceAndResizeKeepTheModel(seed: UInt64) async throws {
        var generator = SeededGenerator(seed: seed)
        let directory = try TemporaryDirectory(prefix: "model-coalesce")
        let size: UInt64 = 8 << 20
        let basePath = directory.path(for: "base.vhd")
        let middlePath = directory.path(for: "middle.vhd")
        let leafPath = directory.path(for: "leaf.vhd")
        var model = DiskModel(size: size)
        try Self.randomWrites(
            15, to: Chain(layers: [try Disks.create(basePath, size: size)]), model: &model, blockSize: 2 << 20,
            using: &generator)
        _ = try Snapshot.file(at: middlePath, parent: basePath)
        try Self.randomWrites(40, to: try Disks.chain(middlePath, writable: true), model: &model, blockSize: 2 << 20, using: &generator)
        _ = try Snapshot.file(at: leafPath, parent: middlePath)
        try Self.randomWrites(40, to: try Disks.chain(leafPath, writable: true), model: &model, blockSize: 2 << 20, using: &generator)
        let leafState = try Disks.FileState(leafPath)

        let sectors = try Coalesce.file(child: leafPath)
        #expect(sectors > 0)
        try Disks.expectEqual(try Disks.chain(middlePath), model)
        try Disks.expectEqual(try Disks.chain(leafPath), model)
        #expect(try Disks.FileState(leafPath) == leafState, "coalesce changed the child")

        // Grow the leaf (journaled) to 2 GiB: its BAT, batmap and locators then reach past where
        // the first block sits (7680), so that block must move; write past the old end, and
        // check the disk, including the new zeros.
        let grown: UInt64 = 2 << 30
        let firstBlock = try Disks.open(leafPath).bat.entries.filter { $0 != BlockAllocationTable.unused }.min()
        try Resize.journaled(path: leafPath, newSize: grown, journalPath: directory.path(for: "leaf.journal"))
        #expect(!FileManager.default.fileExists(atPath: directory.path(for: "leaf.journal")))
        model.grow(to: grown)
        let leaf = try Disks.chain(leafPath, writable: true)
        #expect(leaf.virtualSize == grown)
        #expect(leaf.leaf.header?.maxTableEntries == 1024)
        let firstAfter = leaf.leaf.bat.entries.filter { $0 != BlockAllocationTable.unused }.min()
        #expect(firstBlock != nil && firstAfter != nil && firstAfter != firstBlock, "no block moved")
        try Self.randomWrites(40, to: leaf, model: &model, blockSize: 2 << 20, using: &generator)
        try Disks.expectEqualWhereWritten(try Disks.chain(leafPath), model)

        // The parent is smaller than the grown child: coalesce must refuse and write nothing.
        let middleState = try Disks.FileState(middlePath)
        #expect(throws: VHDError.self) { _ = try Coalesce.file(child: leafPath) }
        #expect(try Disks.FileState(middlePath) == middleState, "a refused coalesce wrote to the parent")

        try Resize.journaled(path: middlePath, newSize: grown, journalPath: directory.path(for: "middle.journal"))
        _ = try Coalesce.file(child: leafPath)
        try Disks.expectEqualWhereWritten(try Disks.chain(middlePath), model)
    }

    /// A fast resize within the BAT preallocated at creation (`create -S`) moves nothing and keeps
    /// every byte; the new space reads as zeros and takes writes.
    @Test func fastResizeKeepsTheModel() async throws {
        var generator = SeededGenerator(seed: 31)
        let directory = try TemporaryDirectory(prefix: "model-fast")
        let path = directory.path(for: "fast.vhd")
        let size: UInt64 = 6 << 20
        var model = DiskModel(size: size)
        let image = try Disks.create(path, size: size, preallocatedSize: 64 << 20)
        try Self.randomWrites(20, to: Chain(layers: [image]), model: &model, blockSize: 2 << 20, using: &generator)
        let before = image.blockOffset(0)
        try Resize.fast(image, newSize: 30 << 20)
        model.grow(to: 30 << 20)
        let chain = try Disks.chain(path, writable: true)
        #expect(chain.virtualSize == 30 << 20)
        #expect(chain.leaf.blockOffset(0) == before)
        try Disks.expectEqual(chain, model)
        try Self.randomWrites(20, to: chain, model: &model, blockSize: 2 << 20, using: &generator)
        try Disks.expectEqual(try Disks.chain(path), model)
    }
}
