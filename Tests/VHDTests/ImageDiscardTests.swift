import BlockIO
import Foundation
import TestSupport
import Testing
import VHDFormat

@testable import VHD

@Suite struct ImageDiscardTests {
    static let size: UInt64 = 10 << 20
    static let mib: UInt64 = 1 << 20

    /// A write or a discard, and what it does to the reference model (a plain byte array).
    enum Step {
        case write(UInt64, [UInt8])
        case discard(Range<UInt64>)

        func apply(to model: inout [UInt8]) {
            switch self {
            case .write(let offset, let data): model.replaceSubrange(Int(offset)..<Int(offset) + data.count, with: data)
            case .discard(let range):
                model.replaceSubrange(Int(range.lowerBound)..<Int(range.upperBound), with: repeatElement(0, count: Int(range.count)))
            }
        }

        func apply(to image: Image) throws {
            switch self {
            case .write(let offset, let data): try VHDTests.write(image, data, at: offset)
            case .discard(let range): try image.discard(range)
            }
        }
    }

    /// Fills four of the five 2 MiB blocks (the third only in part, the fourth sparsely).
    static let setup: [Step] = [
        .write(0, pattern(count: Int(4 * mib), seed: 1)),
        .write(4 * mib + 4096, pattern(count: 65536, seed: 2)),
        .write(6 * mib, pattern(count: 512, seed: 3)), .write(7 * mib, pattern(count: 4096, seed: 4)),
        .write(8 * mib, pattern(count: Int(2 * mib), seed: 5)),
    ]

    /// Whole blocks, partial blocks, both ends at once, unallocated blocks, the last block.
    static let discards: [Range<UInt64>] = [
        0..<2 * mib, 512..<(2 * mib) - 512, 3 * mib..<7 * mib + 1024, 4 * mib..<6 * mib,
        8 * mib..<size, 1 * mib..<9 * mib, 0..<size,
    ]

    @Test(arguments: discards)
    func discardMatchesTheReferenceModelOnBothStores(range: Range<UInt64>) throws {
        let directory = try TemporaryDirectory()
        for store in [MemoryBlockStore() as any BlockStore, try FileBlockStore.create(path: directory.path(for: "d.vhd"))] {
            let image = try Create.image(on: store, options: .init(virtualSize: Self.size))
            var model = [UInt8](repeating: 0, count: Int(Self.size))
            for step in Self.setup + [.discard(range)] {
                try step.apply(to: image)
                step.apply(to: &model)
            }
            #expect(try readAll(Chain(layers: [image])) == model)
            let reopened = try Image.open(store: store, options: .readWrite)
            #expect(try readAll(Chain(layers: [reopened])) == model)
            // Blocks the range covers whole are unallocated; the others keep their entries.
            for block in 0..<5 {
                let span = UInt64(block) * 2 * Self.mib..<UInt64(block + 1) * 2 * Self.mib
                if span.clamped(to: range) == span { #expect(reopened.blockOffset(block) == nil, "block \(block)") }
            }
            // Writing after the discard reallocates and reads back, with no stale bytes around it.
            let later = Step.write(range.lowerBound / 512 * 512, pattern(count: 1024, seed: 9))
            try later.apply(to: reopened)
            later.apply(to: &model)
            #expect(try readAll(Chain(layers: [try Image.open(store: store)])) == model)
        }
    }

    @Test func aRandomMixOfWritesAndDiscardsMatchesTheModel() throws {
        var generator = SplitMix(seed: 7)
        let store = MemoryBlockStore()
        let image = try Create.image(on: store, options: .init(virtualSize: Self.size))
        var model = [UInt8](repeating: 0, count: Int(Self.size))
        for index in 0..<60 {
            let start = generator.next(below: Self.size / 512) * 512
            let count = min(Self.size - start, (generator.next(below: 3 * Self.mib / 512) + 1) * 512)
            let step: Step =
                generator.next(below: 3) == 0
                ? .write(start, pattern(count: Int(min(count, 256 << 10)), seed: UInt8(index)))
                : .discard(start..<start + count)
            try step.apply(to: image)
            step.apply(to: &model)
        }
        #expect(try readAll(Chain(layers: [try Image.open(store: store)])) == model)
    }

    @Test func checkIsCleanAndTheFileShrinksAfterDiscard() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path(for: "c.vhd")
        let image = try Create.image(on: try FileBlockStore.create(path: path), name: path, options: .init(virtualSize: Self.size))
        for step in Self.setup { try step.apply(to: image) }
        try image.flush()
        let before = try Self.allocatedBytes(path)
        let lengthBefore = try Self.length(path)
        // The middle blocks: punched, the file keeps its length.
        try image.discard(2 * Self.mib..<6 * Self.mib)
        try image.flush()
        let afterMiddle = try Self.allocatedBytes(path)
        #expect(before - afterMiddle >= 2 * Self.mib, "st_blocks before \(before), after \(afterMiddle)")
        #expect(try Self.length(path) == lengthBefore)
        // The last block: the footer moves down and the file is cut.
        try image.discard(8 * Self.mib..<Self.size)
        try image.flush()
        #expect(try Self.length(path) <= lengthBefore - 2 * Self.mib)
        #expect(try Self.allocatedBytes(path) <= afterMiddle - 2 * Self.mib)
        var options = Check.Options()
        options.checkData = true
        let report = Check.image(at: path, options: options)
        #expect(report.isValid, "\(report.problems)")
        #expect(try Image.open(store: try FileBlockStore(path: path)).footerSource == .primary(offset: try Self.length(path) - 512))
    }

    /// Kills the store (as a killed process: each call lands whole or not at all) at every
    /// write, flush, discard and resize of a discard; each time the image reopens, passes check, every sector reads its old contents
    /// or zeroes, and a later write to fresh blocks exposes no stale data.
    @Test func crashAtAnyStepOfADiscardNeverExposesStaleData() throws {
        let directory = try TemporaryDirectory()
        let base = MemoryBlockStore()
        let image = try Create.image(on: base, options: .init(virtualSize: Self.size))
        for step in Self.setup { try step.apply(to: image) }
        let before = try readAll(Chain(layers: [try Image.open(store: base)]))
        let range = 1 * Self.mib..<Self.size
        var index = 0
        while true {
            let copy = base.copy()
            let faulty = FaultInjectingBlockStore(
                base: copy, fault: .init(index: index, counting: .all, tornWrite: .none))
            let victim = try Image.open(store: faulty, options: .readWrite)
            var crashed = false
            do { try victim.discard(range) } catch { crashed = true }
            let survivor = try Image.open(store: copy, options: .readWrite)
            var read = try readAll(Chain(layers: [survivor]))
            let zero = [UInt8](repeating: 0, count: 512)
            for sector in 0..<Int(Self.size / 512) {
                let bytes = sector * 512..<(sector + 1) * 512
                let old = Array(before[bytes])
                let allowed = UInt64(bytes.lowerBound) >= range.lowerBound ? [old, zero] : [old]
                #expect(allowed.contains(Array(read[bytes])), "fault #\(index), sector \(sector)")
            }
            let path = directory.path(for: "crash\(index).vhd")
            _ = FileManager.default.createFile(atPath: path, contents: Data(try copy.read(count: Int(copy.size), at: 0)))
            let report = Check.image(at: path)
            #expect(report.isValid, "fault #\(index): \(report.problems)")
            // A later allocation in a released block: the new data, zeroes around it.
            let fresh = pattern(count: 512, seed: 11)
            try write(survivor, fresh, at: 9 * Self.mib)
            read = try readAll(Chain(layers: [try Image.open(store: copy)]))
            #expect(Array(read[Int(9 * Self.mib)..<Int(9 * Self.mib) + 512]) == fresh)
            let blockRest = Int(8 * Self.mib)..<Int(10 * Self.mib)
            for sector in stride(from: blockRest.lowerBound, to: blockRest.upperBound, by: 512)
            where sector != Int(9 * Self.mib) {
                let got = Array(read[sector..<sector + 512])
                #expect(got == Array(before[sector..<sector + 512]) || got == zero, "fault #\(index), sector \(sector / 512)")
            }
            if !crashed { break }
            index += 1
        }
        #expect(index > 5)
    }

    @Test func chainDiscardOnADifferencingLeafZeroesOnlyWhereTheChainHoldsData() throws {
        let directory = try TemporaryDirectory()
        let basePath = directory.path(for: "base.vhd")
        let parent = try Create.image(
            on: try FileBlockStore.create(path: basePath), name: basePath, options: .init(virtualSize: Self.size))
        try write(parent, pattern(count: 4096, seed: 1), at: 0)
        let leaf = try Snapshot.file(at: directory.path(for: "leaf.vhd"), parent: basePath)
        try write(leaf, pattern(count: 512, seed: 2), at: 6 * Self.mib)
        #expect(throws: VHDError.self) { try leaf.discard(0..<2 * Self.mib) }
        let chain = try Chain.open(leaf: leaf, resolver: FileParentResolver())
        try chain.discard(100..<Self.size - 3)
        var model = pattern(count: 100, seed: 1) + [UInt8](repeating: 0, count: Int(Self.size) - 100)
        model.replaceSubrange(Int(Self.size) - 3..<Int(Self.size), with: [0, 0, 0])
        #expect(try readAll(chain) == model)
        // Blocks the chain held nothing in stay unallocated in the leaf.
        #expect((0..<5).filter { leaf.blockOffset($0) != nil } == [0, 3])
    }

    @Test func aFixedDiskPunchesTheRangeOutOfItsFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path(for: "f.vhd")
        let image = try Create.image(
            on: try FileBlockStore.create(path: path), name: path, options: .init(virtualSize: Self.size, diskType: .fixed))
        try write(image, pattern(count: Int(Self.size), seed: 3), at: 0)
        try image.flush()
        let before = try Self.allocatedBytes(path)
        try image.discard(Self.mib..<5 * Self.mib)
        var model = pattern(count: Int(Self.size), seed: 3)
        model.replaceSubrange(Int(Self.mib)..<Int(5 * Self.mib), with: repeatElement(0, count: Int(4 * Self.mib)))
        #expect(try readAll(Chain(layers: [try Image.open(store: try FileBlockStore(path: path))])) == model)
        let after = try Self.allocatedBytes(path)
        #expect(before - after >= 4 * Self.mib - (64 << 10), "st_blocks: \(before) bytes before, \(after) after")
        #expect(Check.image(at: path).isValid)
    }

    @Test func discardRejectsUnalignedRangesAndReadOnlyImages() throws {
        let store = MemoryBlockStore()
        let image = try Create.image(on: store, options: .init(virtualSize: Self.size))
        #expect(throws: VHDError.unaligned(image: "memory", offset: 3, count: 512)) { try image.discard(3..<515) }
        #expect(throws: VHDError.self) { try image.discard(0..<Self.size + 512) }
        #expect(throws: VHDError.readOnly(image: "memory")) { try Image.open(store: store).discard(0..<512) }
    }

    static func allocatedBytes(_ path: String) throws -> UInt64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw POSIXError(.ENOENT) }
        return UInt64(info.st_blocks) * 512
    }

    static func length(_ path: String) throws -> UInt64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw POSIXError(.ENOENT) }
        return UInt64(info.st_size)
    }
}
