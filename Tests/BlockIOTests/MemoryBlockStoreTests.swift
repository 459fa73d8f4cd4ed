import BlockIO
import Testing

@Suite struct MemoryBlockStoreTests {
    @Test func aHugeSparseStoreCostsOnlyTheWrittenPages() throws {
        let store = MemoryBlockStore(size: 2 * 1024 * 1024 * mebibyte)  // 2 TiB
        let far = store.size - 10_000
        try store.write(pattern(count: 5000), at: far)
        #expect(store.allocatedPageCount == 2)
        #expect(try store.read(count: 5000, at: far) == pattern(count: 5000))
        #expect(try store.read(count: 4096, at: 1 << 30) == [UInt8](repeating: 0, count: 4096))
        let pageStart = far / 4096 * 4096
        #expect(try store.allocatedRanges(in: 0..<store.size) == [pageStart..<pageStart + 8192])
    }

    @Test func writesPastTheEndGrowAGrowableStoreAndFailAFixedOne() throws {
        let growable = MemoryBlockStore(name: "grow")
        try growable.write(pattern(count: 10), at: 100)
        #expect(growable.size == 110)
        #expect(try growable.read(count: 100, at: 0) == [UInt8](repeating: 0, count: 100))
        let fixed = MemoryBlockStore(name: "fixed", size: 100, canGrow: false)
        #expect(throws: BlockIOError.outOfRange(store: "fixed", operation: "write", offset: 95, count: 10, size: 100)) {
            try fixed.write(pattern(count: 10), at: 95)
        }
        #expect(throws: BlockIOError.outOfRange(store: "fixed", operation: "read", offset: 95, count: 10, size: 100)) {
            _ = try fixed.read(count: 10, at: 95)
        }
        #expect(throws: BlockIOError.unsupported(store: "fixed", operation: "resize")) { try fixed.resize(to: 200) }
    }

    @Test func discardDropsWholePagesAndZeroesPartialOnes() throws {
        let store = MemoryBlockStore()
        let data = pattern(count: 4 * 4096, seed: 6)
        try store.write(data, at: 0)
        #expect(store.allocatedPageCount == 4)
        try store.discard(1000..<(3 * 4096 + 10))  // pages 1 and 2 whole; parts of 0 and 3
        #expect(store.allocatedPageCount == 2)
        var expected = data
        expected.replaceSubrange(1000..<(3 * 4096 + 10), with: [UInt8](repeating: 0, count: 3 * 4096 + 10 - 1000))
        #expect(try store.read(count: data.count, at: 0) == expected)
        #expect(try store.allocatedRanges(in: 0..<store.size) == [0..<4096, 3 * 4096..<4 * 4096])
        #expect(throws: BlockIOError.self) { try store.discard(0..<UInt64(data.count + 1)) }
    }

    @Test func shrinkingThenGrowingReadsZeros() throws {
        let store = MemoryBlockStore()
        try store.write(pattern(count: 10_000), at: 0)
        try store.resize(to: 5000)
        #expect(store.allocatedPageCount == 2)
        try store.resize(to: 10_000)
        #expect(try store.read(count: 5000, at: 5000) == [UInt8](repeating: 0, count: 5000))
        #expect(try store.read(count: 5000, at: 0) == Array(pattern(count: 10_000)[0..<5000]))
    }

    @Test func aCopyIsIndependent() throws {
        let store = MemoryBlockStore(bytes: pattern(count: 100))
        let copy = store.copy(name: "copy")
        try store.write([0, 0, 0], at: 0)
        #expect(try copy.read(count: 100, at: 0) == pattern(count: 100))
        #expect(copy.name == "copy")
        #expect(copy.size == 100)
    }

    @Test func aReadOnlyStoreRejectsChanges() throws {
        let store = MemoryBlockStore(name: "ro", size: 10, readOnly: true)
        #expect(throws: BlockIOError.readOnly(store: "ro")) { try store.write([1], at: 0) }
        #expect(throws: BlockIOError.readOnly(store: "ro")) { try store.discard(0..<1) }
        #expect(throws: BlockIOError.readOnly(store: "ro")) { try store.resize(to: 1) }
    }

    @Test func concurrentWritersToOnePageDoNotLoseBytes() async throws {
        let store = MemoryBlockStore()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask { try? store.write([UInt8(index + 1)], at: UInt64(index)) }
            }
        }
        #expect(try store.read(count: 64, at: 0) == (1...64).map { UInt8($0) })
    }
}
