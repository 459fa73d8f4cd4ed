import BlockIO
import Foundation
import Glibc
import Testing
import VHD
import VHDFormat

/// Making, writing and comparing the disks the interop tests hand to other tools.
enum Disks {
    static let mebibyte: UInt64 = 1 << 20

    /// Creates a new image file at `path` (dynamic or fixed, blktap layout) open read-write.
    static func create(
        _ path: String, size: UInt64, type: DiskType = .dynamic, blockSize: UInt32 = DynamicHeader.defaultBlockSize,
        preallocatedSize: UInt64? = nil
    ) throws -> Image {
        let store = try FileBlockStore.create(path: path, mode: .truncate)
        return try Create.image(
            on: store, name: path,
            options: Create.Options(
                virtualSize: size, diskType: type, blockSize: blockSize, preallocatedSize: preallocatedSize))
    }

    /// Opens the file at `path` as one image.
    static func open(_ path: String, writable: Bool = false) throws -> Image {
        let store = try FileBlockStore(path: path, readOnly: !writable)
        return try Image.open(store: store, name: path, options: writable ? .readWrite : .readOnly)
    }

    /// Opens the chain whose leaf is the file at `path`, following its locators.
    static func chain(_ path: String, writable: Bool = false) throws -> Chain {
        try Chain.open(leaf: try open(path, writable: writable), resolver: FileParentResolver())
    }

    /// The ocaml-vhd "patterns" writes for a disk of `size` bytes with `blockSize`-byte blocks:
    /// the first and last sector of the first and last block, plus a write across the first
    /// block boundary when there is one. Each is tagged with its own seed.
    static func patternWrites(size: UInt64, blockSize: UInt64) -> [(offset: UInt64, bytes: [UInt8])] {
        let sector = UInt64(512)
        let lastBlock = (size - 1) / blockSize
        var offsets: Set<UInt64> = []
        for block in [0, lastBlock] {
            let start = block * blockSize
            let end = min(size, start + blockSize)
            offsets.insert(start)
            offsets.insert(end - sector)
        }
        var writes = offsets.sorted().enumerated().map { index, offset in
            (offset: offset, bytes: pattern(count: Int(sector), seed: UInt8(index + 1)))
        }
        if size > blockSize + 8 * sector {
            writes.append((offset: blockSize - 4 * sector, bytes: pattern(count: Int(8 * sector), seed: 0xB0)))
        }
        return writes
    }

    /// Writes each of `writes` through `chain` and records it in `model`.
    static func apply(_ writes: [(offset: UInt64, bytes: [UInt8])], to chain: Chain, model: inout DiskModel) throws {
        for write in writes {
            try write.bytes.withUnsafeBytes { try chain.write($0, at: write.offset) }
            model.write(write.bytes, at: write.offset)
        }
    }

    /// Reads `range` of `chain`.
    static func read(_ chain: Chain, _ range: Range<UInt64>) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(range.upperBound - range.lowerBound))
        try bytes.withUnsafeMutableBytes { try chain.read(into: $0, at: range.lowerBound) }
        return bytes
    }

    /// The chunk size of whole-disk comparisons.
    static let chunk: UInt64 = 4 << 20

    /// Checks every byte of `chain` against `model`, chunk by chunk, and records the first
    /// difference with its offset.
    static func expectEqual(
        _ chain: Chain, _ model: DiskModel, limit: UInt64? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let end = min(limit ?? model.size, model.size)
        var offset: UInt64 = 0
        while offset < end {
            let range = offset..<min(end, offset + chunk)
            let expected = model.read(range)
            let actual = try read(chain, range)
            if let difference = firstDifference(actual, expected) {
                let position = range.lowerBound + UInt64(difference)
                let found = difference < actual.count ? String(actual[difference], radix: 16) : "nothing"
                let wanted = difference < expected.count ? String(expected[difference], radix: 16) : "nothing"
                Issue.record(
                    Comment(rawValue: "\(chain.leaf.name) differs from the model at byte \(position): read 0x\(found), expected 0x\(wanted)"),
                    sourceLocation: sourceLocation)
                return
            }
            offset = range.upperBound
        }
    }

    /// Like `expectEqual`, for disks too large to read whole in an unoptimised test: compares
    /// every range the model wrote or some layer of `chain` holds (rounded out to 64 KiB), plus
    /// the first and last 64 KiB. Elsewhere the model holds no data and no layer does either,
    /// so both read zeros by construction.
    static func expectEqualWhereWritten(
        _ chain: Chain, _ model: DiskModel, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let grain: UInt64 = 64 << 10
        let size = model.size
        var ranges = model.writtenRanges + (try chain.allocatedRanges())
        ranges += [0..<min(size, grain), (size - min(size, grain))..<size]
        ranges = ranges.map { ($0.lowerBound / grain * grain)..<min(size, ($0.upperBound + grain - 1) / grain * grain) }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<UInt64>] = []
        for range in ranges {
            if let last = merged.last, range.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        for range in merged {
            var offset = range.lowerBound
            while offset < range.upperBound {
                let piece = offset..<min(range.upperBound, offset + chunk)
                if let difference = firstDifference(try read(chain, piece), model.read(piece)) {
                    Issue.record(
                        Comment(rawValue: "\(chain.leaf.name) differs from the model at byte \(piece.lowerBound + UInt64(difference))"),
                        sourceLocation: sourceLocation)
                    return
                }
                offset = piece.upperBound
            }
        }
    }

    /// Checks the raw file at `rawPath` (a tool's output) byte for byte against `model`, up to
    /// `limit` bytes, and against `chain` where given. Buffers are reused across chunks: fresh
    /// multi-MiB arrays per chunk cost more in page faults than the comparison itself.
    static func expectRawFile(
        _ rawPath: String, equals model: DiskModel, chain: Chain?, limit: UInt64,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let raw = try FileBlockStore(path: rawPath, readOnly: true)
        #expect(raw.size >= limit, "\(rawPath) has \(raw.size) bytes, fewer than \(limit)", sourceLocation: sourceLocation)
        var fromFile = [UInt8](repeating: 0, count: Int(chunk))
        var fromChain = [UInt8](repeating: 0, count: Int(chunk))
        var offset: UInt64 = 0
        let end = min(limit, raw.size)
        while offset < end {
            let range = offset..<min(end, offset + chunk)
            let count = Int(range.upperBound - range.lowerBound)
            if count < fromFile.count {
                fromFile.removeLast(fromFile.count - count)
                fromChain.removeLast(fromChain.count - count)
            }
            try fromFile.withUnsafeMutableBytes { try raw.read(into: $0, at: range.lowerBound) }
            if let difference = firstDifference(fromFile, model.read(range)) {
                Issue.record(
                    Comment(rawValue: "\(rawPath) differs from the model at byte \(range.lowerBound + UInt64(difference))"),
                    sourceLocation: sourceLocation)
                return
            }
            if let chain {
                try fromChain.withUnsafeMutableBytes { try chain.read(into: $0, at: range.lowerBound) }
                if let difference = firstDifference(fromFile, fromChain) {
                    Issue.record(
                        Comment(rawValue: "\(rawPath) differs from our chain read at byte \(range.lowerBound + UInt64(difference))"),
                        sourceLocation: sourceLocation)
                    return
                }
            }
            offset = range.upperBound
        }
    }

    /// The index of the first byte where `a` and `b` differ (or where the shorter ends), nil
    /// when they are equal; `memcmp` first, because the tests run unoptimised.
    static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
        let same = a.count == b.count && a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
        }
        if same { return nil }
        return (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
    }

    /// A file's bytes and modification time, to prove an operation did not write.
    struct FileState: Equatable {
        var bytes: Data
        var modified: timespec

        init(_ path: String) throws {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            var info = stat()
            guard stat(path, &info) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            modified = info.st_mtim
        }

        static func == (a: FileState, b: FileState) -> Bool {
            a.bytes == b.bytes && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
        }
    }
}
