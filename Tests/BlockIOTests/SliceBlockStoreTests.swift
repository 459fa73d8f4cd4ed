import BlockIO
import Testing

@Suite struct SliceBlockStoreTests {
    @Test func readsAndWritesLandAtTheOffsetInTheBase() throws {
        let base = MemoryBlockStore(name: "base", size: 64 * kibibyte)
        let slice = try SliceBlockStore(base: base, offset: 10_000, length: 20_000)
        #expect(slice.size == 20_000)
        #expect(!slice.canGrow)
        try slice.write(pattern(count: 100), at: 50)
        #expect(try base.read(count: 100, at: 10_050) == pattern(count: 100))
        try base.write(pattern(count: 10, seed: 2), at: 29_990)
        #expect(try slice.read(count: 10, at: 19_990) == pattern(count: 10, seed: 2))
    }

    @Test func accessesOutsideTheSliceThrowEvenWhenTheBaseIsLarger() throws {
        let base = MemoryBlockStore(name: "base", size: 64 * kibibyte)
        let slice = try SliceBlockStore(base: base, offset: 4096, length: 4096, name: "slice")
        #expect(throws: BlockIOError.outOfRange(store: "slice", operation: "read", offset: 4000, count: 97, size: 4096))
        {
            _ = try slice.read(count: 97, at: 4000)
        }
        #expect(throws: BlockIOError.outOfRange(store: "slice", operation: "write", offset: 4096, count: 1, size: 4096))
        {
            try slice.write([1], at: 4096)
        }
        #expect(throws: BlockIOError.self) { try slice.discard(0..<4097) }
        #expect(throws: BlockIOError.unsupported(store: "slice", operation: "resize")) { try slice.resize(to: 8192) }
        #expect(base.size == 64 * kibibyte)
        #expect(base.allocatedPageCount == 0)
    }

    @Test func aWindowBeyondTheBaseIsRejected() throws {
        let base = MemoryBlockStore(name: "base", size: 8192)
        #expect(
            throws: BlockIOError.outOfRange(store: "base", operation: "slice", offset: 4096, count: 4097, size: 8192)
        ) {
            _ = try SliceBlockStore(base: base, offset: 4096, length: 4097)
        }
        #expect(throws: BlockIOError.self) { _ = try SliceBlockStore(base: base, offset: UInt64.max, length: 2) }
        #expect(try SliceBlockStore(base: base, offset: 4096, length: 4096).size == 4096)
    }

    @Test func allocatedRangesAndDiscardAreTranslated() throws {
        let base = MemoryBlockStore(name: "base", size: 64 * kibibyte)
        try base.write(pattern(count: 8192), at: 8192)  // pages 2 and 3
        try base.write(pattern(count: 4096), at: 40_960)  // page 10, outside the slice
        let slice = try SliceBlockStore(base: base, offset: 4096, length: 16_384)
        #expect(try slice.allocatedRanges(in: 0..<UInt64.max) == [4096..<12_288])
        #expect(try slice.allocatedRanges(in: 5000..<6000) == [5000..<6000])
        try slice.discard(4096..<8192)  // base page 2
        #expect(try base.allocatedRanges(in: 0..<base.size) == [12_288..<16_384, 40_960..<45_056])
        #expect(try slice.read(count: 4096, at: 4096) == [UInt8](repeating: 0, count: 4096))
    }

    @Test func aReadOnlySliceRejectsWrites() throws {
        let base = MemoryBlockStore(size: 8192)
        let slice = try SliceBlockStore(base: base, offset: 0, length: 8192, name: "ro", readOnly: true)
        #expect(slice.isReadOnly)
        #expect(throws: BlockIOError.readOnly(store: "ro")) { try slice.write([1], at: 0) }
        let overReadOnly = try SliceBlockStore(base: MemoryBlockStore(size: 10, readOnly: true), offset: 0, length: 10)
        #expect(overReadOnly.isReadOnly)
    }
}
