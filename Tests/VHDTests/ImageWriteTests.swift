import BlockIO
import TestSupport
import Testing
import VHDFormat

@testable import VHD

/// A deterministic byte pattern for a write: offset- and seed-dependent, never all zero.
func pattern(count: Int, seed: UInt8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 / 512 &* 31 &+ Int(seed) &* 7 &+ 1) }
}

func readAll(_ chain: Chain) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0xEE, count: Int(chain.virtualSize))
    try bytes.withUnsafeMutableBytes { try chain.read(into: $0, at: 0) }
    return bytes
}

func write(_ image: Image, _ bytes: [UInt8], at offset: UInt64) throws {
    try bytes.withUnsafeBytes { try image.write($0, at: offset) }
}

@Suite struct ImageWriteTests {
    static let size: UInt64 = 10 << 20

    @Test func allocatesBlocksWhereBlktapDoes() throws {
        let store = MemoryBlockStore()
        let image = try Create.image(on: store, options: .init(virtualSize: Self.size))
        for block in 0..<4 { try write(image, pattern(count: 512, seed: UInt8(block)), at: UInt64(block) << 21) }
        let offsets = (0..<4).compactMap { image.blockOffset($0) }
        #expect(offsets == [3584, 2_104_832, 4_206_080, 6_307_328])
        #expect(store.size == 6_307_328 + 512 + (2 << 20) + 512)
        let reopened = try Image.open(store: store)
        #expect(reopened.footerSource == .primary(offset: store.size - 512))
    }

    /// ocaml-vhd's patterns: first or last block × first or last sector, over both stores.
    @Test(arguments: [0, 4], [0, 4095])
    func writesAndReadsPatterns(block: Int, sector: Int) throws {
        let directory = try TemporaryDirectory()
        for store in [MemoryBlockStore() as any BlockStore, try FileBlockStore.create(path: directory.path(for: "p.vhd"))] {
            let image = try Create.image(on: store, options: .init(virtualSize: Self.size))
            let offset = UInt64(block) << 21 + UInt64(sector) * 512
            let data = pattern(count: 512, seed: 9)
            try write(image, data, at: offset)
            var model = [UInt8](repeating: 0, count: Int(Self.size))
            model.replaceSubrange(Int(offset)..<Int(offset) + 512, with: data)
            let reopened = try Image.open(store: store)
            #expect(try readAll(Chain(layers: [reopened])) == model)
        }
    }

    @Test func rejectsUnalignedAndOutOfRangeWrites() throws {
        let image = try Create.image(on: MemoryBlockStore(), options: .init(virtualSize: Self.size))
        #expect(throws: VHDError.unaligned(image: "memory", offset: 3, count: 512)) { try write(image, pattern(count: 512, seed: 1), at: 3) }
        #expect(throws: VHDError.outOfRange(image: "memory", offset: Self.size, count: 512, size: Self.size)) {
            try write(image, pattern(count: 512, seed: 1), at: Self.size)
        }
    }

    /// Kills the store at every write of a sequence of writes; each time, the image reopens
    /// and every sector reads either its old or its new contents: never stale or foreign data.
    @Test func crashAtAnyWriteNeverExposesStaleData() throws {
        let base = MemoryBlockStore()
        let image = try Create.image(on: base, options: .init(virtualSize: Self.size))
        try write(image, pattern(count: 4096, seed: 1), at: 0)
        let before = try readAll(Chain(layers: [try Image.open(store: base)]))
        let writes: [(UInt64, [UInt8])] = [(4096, pattern(count: 8192, seed: 2)), ((2 << 20) - 512, pattern(count: 1024, seed: 3)), (8 << 20, pattern(count: 512, seed: 4))]
        var after = before
        for (offset, data) in writes { after.replaceSubrange(Int(offset)..<Int(offset) + data.count, with: data) }
        var index = 0
        while true {
            let copy = base.copy()
            let faulty = FaultInjectingBlockStore(base: copy, fault: .init(index: index, tornWrite: .prefix(byteCount: 100)))
            let victim = try Image.open(store: faulty, options: .readWrite)
            var crashed = false
            for (offset, data) in writes {
                do { try write(victim, data, at: offset) } catch { crashed = true; break }
            }
            let survivor = try readAll(Chain(layers: [try Image.open(store: copy)]))
            for sector in 0..<(Int(Self.size) / 512) {
                let range = sector * 512..<(sector + 1) * 512
                let got = Array(survivor[range])
                #expect(got == Array(before[range]) || got == Array(after[range]), "write #\(index), sector \(sector)")
            }
            if !crashed { break }
            index += 1
        }
        #expect(index > 5)
    }

    @Test func aDamagedPrimaryFooterFallsBackToTheCopyAndRepairRestoresIt() throws {
        let store = MemoryBlockStore()
        let image = try Create.image(on: store, options: .init(virtualSize: Self.size))
        try write(image, pattern(count: 512, seed: 5), at: 0)
        try store.write([UInt8](repeating: 0xC7, count: 512), at: store.size - 512)
        let opened = try Image.open(store: store, options: .readWrite)
        guard case .backup = opened.footerSource else { Issue.record("expected the backup footer"); return }
        try Repair.image(opened)
        #expect(try Image.open(store: store).footerSource == .primary(offset: store.size - 512))
    }

    @Test func hiddenFlagIsWrittenToBothFooters() throws {
        let store = MemoryBlockStore()
        let image = try Create.image(on: store, options: .init(virtualSize: Self.size))
        try image.setHidden(true)
        #expect(try Footer(decoding: store.read(count: 512, at: 0)).hidden == 1)
        #expect(try Image.open(store: store).isHidden)
    }

    @Test(arguments: [UInt32(512), 64 << 10, 512 << 10, 4 << 20, 16 << 20])
    func anyPowerOfTwoBlockSizeWritesAndReads(blockSize: UInt32) throws {
        let store = MemoryBlockStore()
        let size: UInt64 = 40 << 20
        let image = try Create.image(on: store, options: .init(virtualSize: size, blockSize: blockSize))
        var model = [UInt8](repeating: 0, count: Int(size))
        for (index, offset) in [UInt64(0), UInt64(blockSize) - 512, 17 << 20, size - 1024].enumerated() {
            let data = pattern(count: 1024, seed: UInt8(index))
            try write(image, data, at: offset)
            model.replaceSubrange(Int(offset)..<Int(offset) + 1024, with: data)
        }
        let reopened = try Image.open(store: store)
        #expect(reopened.blockSize == UInt64(blockSize))
        #expect(try readAll(Chain(layers: [reopened])) == model)
    }
}
