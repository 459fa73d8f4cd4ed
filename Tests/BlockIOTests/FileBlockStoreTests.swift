import BlockIO
import Glibc
import TestSupport
import Testing

@Suite struct FileBlockStoreTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "FileBlockStoreTests")
    }

    @Test func writesAndReadsBackAcrossReopen() throws {
        let path = directory.path(for: "disk.img")
        let data = pattern(count: 10_000, seed: 3)
        do {
            let store = try FileBlockStore.create(path: path)
            #expect(store.size == 0)
            #expect(store.canGrow && !store.isBlockDevice && !store.isReadOnly)
            try store.write(data, at: 123)
            #expect(store.size == 10_123)
            try store.flush()
            #expect(try store.read(count: data.count, at: 123) == data)
            #expect(try store.read(count: 123, at: 0) == [UInt8](repeating: 0, count: 123))
        }
        let reopened = try FileBlockStore(path: path, readOnly: true)
        #expect(reopened.size == 10_123)
        #expect(try reopened.read(count: 500, at: 1_123) == Array(data[1_000..<1_500]))
    }

    @Test func readPastTheEndThrowsOutOfRange() throws {
        let store = try FileBlockStore.create(path: directory.path(for: "small.img"), size: 4096)
        #expect(
            throws: BlockIOError.outOfRange(
                store: store.name,
                operation: "read",
                offset: 4000,
                count: 100,
                size: 4096
            )
        ) {
            _ = try store.read(count: 100, at: 4000)
        }
        #expect(throws: BlockIOError.self) { _ = try store.read(count: 1, at: UInt64.max) }
        #expect(try store.read(count: 96, at: 4000) == [UInt8](repeating: 0, count: 96))
    }

    @Test func writePastTheEndGrowsTheFile() throws {
        let path = directory.path(for: "grow.img")
        let store = try FileBlockStore.create(path: path, size: 1000)
        try store.write(pattern(count: 10), at: 5000)
        #expect(store.size == 5010)
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_size == 5010)
        #expect(try store.read(count: 4000, at: 1000) == [UInt8](repeating: 0, count: 4000))
    }

    @Test func resizeTruncatesAndExtends() throws {
        let store = try FileBlockStore.create(path: directory.path(for: "resize.img"))
        try store.write(pattern(count: 8192), at: 0)
        try store.resize(to: 100)
        #expect(store.size == 100)
        try store.resize(to: 200)
        #expect(try store.read(count: 100, at: 100) == [UInt8](repeating: 0, count: 100))
        #expect(try store.read(count: 100, at: 0) == Array(pattern(count: 100)))
    }

    @Test func createExclusiveRefusesAnExistingFileAndTruncateEmptiesIt() throws {
        let path = directory.path(for: "exists.img")
        let first = try FileBlockStore.create(path: path)
        try first.write(pattern(count: 100), at: 0)
        first.close()
        let error = #expect(throws: BlockIOError.self) { _ = try FileBlockStore.create(path: path) }
        #expect(error == .system(call: "open", errno: EEXIST, path: path))
        let truncated = try FileBlockStore.create(path: path, mode: .truncate)
        #expect(truncated.size == 0)
    }

    @Test func readOnlyStoreRejectsChanges() throws {
        let path = directory.path(for: "ro.img")
        _ = try FileBlockStore.create(path: path, size: 4096)
        let store = try FileBlockStore(path: path, readOnly: true)
        #expect(throws: BlockIOError.readOnly(store: path)) { try store.write([1], at: 0) }
        #expect(throws: BlockIOError.readOnly(store: path)) { try store.resize(to: 0) }
        #expect(throws: BlockIOError.readOnly(store: path)) { try store.discard(0..<4096) }
    }

    @Test func openingMissingPathsNamesTheCallAndDirectoriesTheirKind() throws {
        let missing = directory.path(for: "missing.img")
        #expect(throws: BlockIOError.system(call: "open", errno: ENOENT, path: missing)) {
            _ = try FileBlockStore(path: missing)
        }
        #expect(throws: BlockIOError.notAStore(path: directory.path, kind: .directory)) {
            _ = try FileBlockStore(path: directory.path, readOnly: true)
        }
    }

    @Test func closedStoreThrowsBadDescriptor() throws {
        let path = directory.path(for: "closed.img")
        let store = try FileBlockStore.create(path: path, size: 4096)
        store.close()
        store.close()
        #expect(throws: BlockIOError.system(call: "pread", errno: EBADF, path: path)) {
            _ = try store.read(count: 1, at: 0)
        }
    }

    @Test func allocatedRangesFindExactlyTheWrittenMebibytes() throws {
        let store = try FileBlockStore.create(path: directory.path(for: "sparse.img"), size: 16 * mebibyte)
        try store.write(pattern(count: Int(mebibyte), seed: 1), at: 1 * mebibyte)
        try store.write(pattern(count: Int(mebibyte), seed: 2), at: 5 * mebibyte)
        try store.flush()
        let whole = try store.allocatedRanges(in: 0..<store.size)
        #expect(whole == [1 * mebibyte..<2 * mebibyte, 5 * mebibyte..<6 * mebibyte])
        // Clamped to the query, at the 4 KiB granularity the file system reports.
        let part = try store.allocatedRanges(in: (1 * mebibyte + 100)..<(5 * mebibyte + 4 * kibibyte))
        #expect(part == [(1 * mebibyte + 100)..<2 * mebibyte, 5 * mebibyte..<(5 * mebibyte + 4 * kibibyte)])
        // Clamped to the size.
        #expect(try store.allocatedRanges(in: 5 * mebibyte..<UInt64.max) == [5 * mebibyte..<6 * mebibyte])
        #expect(try store.allocatedRanges(in: 7 * mebibyte..<8 * mebibyte).isEmpty)
    }

    @Test func discardPunchesAHoleThatReadsAsZerosAndFreesSpace() throws {
        let store = try FileBlockStore.create(path: directory.path(for: "punch.img"))
        let data = pattern(count: Int(4 * mebibyte), seed: 5)
        try store.write(data, at: 0)
        try store.flush()
        let before = try store.allocatedByteCount()
        #expect(before >= 4 * mebibyte)
        try store.discard(1 * mebibyte..<3 * mebibyte)
        #expect(store.size == 4 * mebibyte)
        #expect(
            try store.read(count: Int(2 * mebibyte), at: mebibyte) == [UInt8](repeating: 0, count: Int(2 * mebibyte))
        )
        #expect(try store.read(count: Int(mebibyte), at: 0) == Array(data[0..<Int(mebibyte)]))
        #expect(try store.read(count: Int(mebibyte), at: 3 * mebibyte) == Array(data[Int(3 * mebibyte)...]))
        #expect(try store.allocatedByteCount() <= before - 2 * mebibyte)
        #expect(try store.allocatedRanges(in: 0..<store.size) == [0..<mebibyte, 3 * mebibyte..<4 * mebibyte])
    }

    @Test func discardOfAPartialBlockZeroesJustThoseBytes() throws {
        let store = try FileBlockStore.create(path: directory.path(for: "partial.img"))
        let data = pattern(count: 8192, seed: 9)
        try store.write(data, at: 0)
        try store.discard(100..<200)
        var expected = data
        expected.replaceSubrange(100..<200, with: [UInt8](repeating: 0, count: 100))
        #expect(try store.read(count: 8192, at: 0) == expected)
        #expect(throws: BlockIOError.self) { try store.discard(8000..<9000) }
    }

    @Test func concurrentWritesToDisjointRangesAllLand() async throws {
        let store = try FileBlockStore.create(path: directory.path(for: "concurrent.img"))
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<16 {
                group.addTask { try? store.write(pattern(count: 5000, seed: index), at: UInt64(index) * 5000) }
            }
        }
        #expect(store.size == 80_000)
        for index in 0..<16 {
            #expect(try store.read(count: 5000, at: UInt64(index) * 5000) == pattern(count: 5000, seed: index))
        }
    }
}
