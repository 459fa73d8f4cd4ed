import BlockIO
import Glibc
import TestSupport
import Testing

/// `O_DIRECT` file stores, checked against a `MemoryBlockStore` holding the same writes.
/// The temporary directory must be on a file system that accepts `O_DIRECT` (ext4, xfs,
/// tmpfs since Linux 6.6); otherwise the bounce path would go untested and `isDirect` fails.
@Suite struct DirectIOTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "DirectIOTests")
    }

    /// Writes `bytes` from a buffer whose address is `misalignment` bytes past a 4 KiB boundary.
    private func write(
        _ bytes: [UInt8],
        at offset: UInt64,
        to store: any BlockStore,
        misalignment: Int
    ) throws(BlockIOError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count + misalignment, alignment: 4096)
        defer { buffer.deallocate() }
        let part = UnsafeMutableRawBufferPointer(rebasing: buffer[misalignment...])
        bytes.withUnsafeBytes { part.copyMemory(from: $0) }
        try store.write(UnsafeRawBufferPointer(part), at: offset)
    }

    /// Reads `count` bytes into a buffer whose address is `misalignment` past a 4 KiB boundary.
    private func read(
        count: Int,
        at offset: UInt64,
        from store: any BlockStore,
        misalignment: Int
    ) throws(BlockIOError) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count + misalignment, alignment: 4096)
        defer { buffer.deallocate() }
        let part = UnsafeMutableRawBufferPointer(rebasing: buffer[misalignment...])
        try store.read(into: part, at: offset)
        return Array(part)
    }

    @Test func directStoreOpensWithODirect() throws {
        let store = try FileBlockStore.create(path: directory.path(for: "direct.img"), direct: true)
        #expect(store.isDirect)
        let cached = try FileBlockStore.create(path: directory.path(for: "cached.img"))
        #expect(!cached.isDirect)
    }

    @Test(arguments: [
        (offset: UInt64(0), count: 4096, misalignment: 1),  // only the buffer is unaligned
        (offset: 100, count: 10, misalignment: 0),  // inside one block
        (offset: 4000, count: 200, misalignment: 0),  // across a block boundary
        (offset: 4096, count: 5000, misalignment: 3),  // aligned start, ragged end
        (offset: 777, count: 3 * 1024 * 1024 + 123, misalignment: 7),  // several bounce windows
        (offset: 8192, count: 8192, misalignment: 0),  // fully aligned: no bounce
    ])
    func unalignedTransfersMatchAMemoryStore(offset: UInt64, count: Int, misalignment: Int) throws {
        let path = directory.path(for: "unaligned-\(offset)-\(count).img")
        let store = try FileBlockStore.create(path: path, direct: true)
        #expect(store.isDirect)
        let oracle = MemoryBlockStore()
        let background = pattern(count: 20_000, seed: 11)
        for target in [store, oracle] as [any BlockStore] {
            try target.write(background, at: 0)
            try write(pattern(count: count, seed: 12), at: offset, to: target, misalignment: misalignment)
        }
        #expect(store.size == oracle.size)
        let total = Int(oracle.size)
        let expected = try oracle.read(count: total, at: 0)
        #expect(try read(count: total, at: 0, from: store, misalignment: 5) == expected)
        #expect(
            try read(count: count, at: offset, from: store, misalignment: misalignment)
                == pattern(count: count, seed: 12)
        )
        // The bytes are in the file, as a cached reader sees them.
        let cached = try FileBlockStore(path: path, readOnly: true)
        #expect(cached.size == oracle.size)
        #expect(try cached.read(count: total, at: 0) == expected)
    }

    @Test func unalignedWritePastTheEndKeepsTheExactSize() throws {
        let path = directory.path(for: "tail.img")
        let store = try FileBlockStore.create(path: path, direct: true)
        try store.write(pattern(count: 10), at: 0)
        #expect(store.size == 10)
        try store.write(pattern(count: 4990, seed: 2), at: 10)
        #expect(store.size == 5000)
        try store.write(pattern(count: 3, seed: 3), at: 6001)
        #expect(store.size == 6004)
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_size == 6004)
        #expect(try store.read(count: 1001, at: 5000) == [UInt8](repeating: 0, count: 1001))
        #expect(try store.read(count: 3, at: 6001) == pattern(count: 3, seed: 3))
        #expect(throws: BlockIOError.self) { _ = try store.read(count: 2, at: 6003) }
    }

    @Test func directDiscardOfAnUnalignedRangeReadsZeros() throws {
        let store = try FileBlockStore.create(path: directory.path(for: "discard.img"), direct: true)
        let data = pattern(count: 3 * 4096, seed: 4)
        try store.write(data, at: 0)
        try store.discard(1000..<9000)
        var expected = data
        expected.replaceSubrange(1000..<9000, with: [UInt8](repeating: 0, count: 8000))
        #expect(try store.read(count: expected.count, at: 0) == expected)
    }
}
