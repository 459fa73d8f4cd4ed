import BlockIO
import Testing

@Suite struct ExtentMapBlockStoreTests {
    /// Two "physical volumes"; the map is pv1[8192..<12288] + pv2[0..<4096] + pv1[0..<4096].
    private func makeMap() throws -> (map: ExtentMapBlockStore, pv1: MemoryBlockStore, pv2: MemoryBlockStore) {
        let pv1 = MemoryBlockStore(name: "pv1", size: 16_384, canGrow: false)
        let pv2 = MemoryBlockStore(name: "pv2", size: 8192, canGrow: false)
        let map = try ExtentMapBlockStore(
            name: "vg/lv",
            extents: [
                .init(store: pv1, offset: 8192, length: 4096),
                .init(store: pv2, offset: 0, length: 4096),
                .init(store: pv1, offset: 0, length: 4096),
            ]
        )
        return (map, pv1, pv2)
    }

    @Test func aWriteSpanningThreeExtentsIsSplitAtTheBoundaries() throws {
        let (map, pv1, pv2) = try makeMap()
        #expect(map.size == 12_288)
        let data = pattern(count: 6000, seed: 4)
        try map.write(data, at: 3000)  // 1096 bytes in extent 0, 4096 in 1, 808 in 2
        #expect(try pv1.read(count: 1096, at: 11_192) == Array(data[0..<1096]))
        #expect(try pv2.read(count: 4096, at: 0) == Array(data[1096..<5192]))
        #expect(try pv1.read(count: 808, at: 0) == Array(data[5192...]))
        #expect(try map.read(count: 6000, at: 3000) == data)
        #expect(try map.read(count: 100, at: 2900) == [UInt8](repeating: 0, count: 100))
    }

    @Test func aReadSpanningExtentsReturnsTheBytesInLogicalOrder() throws {
        let (map, pv1, pv2) = try makeMap()
        try pv1.write(pattern(count: 4096, seed: 1), at: 8192)
        try pv2.write(pattern(count: 4096, seed: 2), at: 0)
        try pv1.write(pattern(count: 4096, seed: 3), at: 0)
        let whole = try map.read(count: 12_288, at: 0)
        #expect(whole == pattern(count: 4096, seed: 1) + pattern(count: 4096, seed: 2) + pattern(count: 4096, seed: 3))
    }

    @Test func accessesPastTheEndThrowAndTheSizeIsFixed() throws {
        let (map, _, _) = try makeMap()
        #expect(!map.canGrow)
        #expect(
            throws: BlockIOError.outOfRange(
                store: "vg/lv",
                operation: "write",
                offset: 12_000,
                count: 289,
                size: 12_288
            )
        ) {
            try map.write(pattern(count: 289), at: 12_000)
        }
        #expect(throws: BlockIOError.self) { _ = try map.read(count: 1, at: 12_288) }
        #expect(throws: BlockIOError.unsupported(store: "vg/lv", operation: "resize")) { try map.resize(to: 0) }
        try map.resize(to: 12_288)
    }

    @Test func invalidExtentsAreRejectedAtInit() throws {
        let pv = MemoryBlockStore(name: "pv", size: 8192)
        #expect(
            throws: BlockIOError.outOfRange(store: "pv", operation: "extent #1 of lv", offset: 0, count: 0, size: 8192)
        ) {
            _ = try ExtentMapBlockStore(
                name: "lv",
                extents: [.init(store: pv, offset: 0, length: 4096), .init(store: pv, offset: 0, length: 0)]
            )
        }
        #expect(
            throws: BlockIOError.outOfRange(
                store: "pv",
                operation: "extent #0 of lv",
                offset: 4096,
                count: 4097,
                size: 8192
            )
        ) {
            _ = try ExtentMapBlockStore(name: "lv", extents: [.init(store: pv, offset: 4096, length: 4097)])
        }
        #expect(try ExtentMapBlockStore(name: "empty", extents: []).size == 0)
    }

    @Test func allocatedRangesAreTranslatedAndJoinedAcrossExtents() throws {
        let (map, pv1, pv2) = try makeMap()
        try pv1.write(pattern(count: 4096), at: 8192)  // all of extent 0
        try pv2.write(pattern(count: 100), at: 0)  // page 0 of pv2: all of extent 1
        try pv1.write(pattern(count: 100), at: 12_288)  // pv1 page 3: not mapped
        #expect(try map.allocatedRanges(in: 0..<map.size) == [0..<8192])
        #expect(try map.allocatedRanges(in: 4000..<100_000) == [4000..<8192])
        try map.discard(0..<4096)
        #expect(try map.allocatedRanges(in: 0..<map.size) == [4096..<8192])
        #expect(try pv1.allocatedRanges(in: 0..<pv1.size) == [12_288..<16_384])
    }

    @Test func aMapOverAReadOnlyStoreIsReadOnly() throws {
        let pv = MemoryBlockStore(name: "pv", size: 8192, readOnly: true)
        let map = try ExtentMapBlockStore(name: "lv", extents: [.init(store: pv, offset: 0, length: 8192)])
        #expect(map.isReadOnly)
        #expect(throws: BlockIOError.readOnly(store: "lv")) { try map.write([1], at: 0) }
    }
}
