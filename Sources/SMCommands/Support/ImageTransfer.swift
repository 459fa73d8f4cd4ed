import BlockIO
import Glibc
import SM
import VHD

/// Streaming a disk image into or out of a VDI, sparse both ways: only ranges the source may
/// hold data in are read, and chunks that read as zeros are never written.
enum ImageTransfer {
    /// The chunk moved at a time: one VHD block.
    static let chunk = 2 << 20

    /// The format `format=` names, else the one the file name suggests.
    static func format(_ text: String?, path: String) throws -> Convert.Format {
        if let text {
            guard let format = Convert.Format(rawValue: text) else {
                throw CLIError("format=\(text) must be raw, vhd or vhd-fixed")
            }
            return format
        }
        guard let guessed = Convert.Format.guess(from: path) else {
            throw CLIError("cannot tell the format of \(path) from its name: give format=raw or format=vhd")
        }
        return guessed
    }

    /// The disk in the file at `path`: a raw file, or a VHD with its parents.
    static func source(path: String, format: Convert.Format) throws -> any ConversionSource {
        let store = try FileBlockStore(path: path, readOnly: true)
        if format == .raw { return RawSource(store: store) }
        let image = try Image.open(store: store, name: path)
        return try Chain.open(leaf: image, resolver: FileParentResolver())
    }

    /// Whether `path` names the file with this device and inode (through any link).
    static func isFile(_ path: String, device: UInt64, inode: UInt64) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// The VDI's content as a conversion source.
    static func source(vdi record: VDIRecord, engine: SREngine) throws -> any ConversionSource {
        if record.volumeType == .vhd { return try engine.openChain(record.uuid, writable: false) }
        let volume = engine.container.naming.volume(for: record.uuid, type: .raw)
        return RawSource(store: try engine.container.open(volume, writable: false))
    }

    /// Makes VDI `record`'s content `source`'s, all or nothing: the engine stages a new leaf
    /// over the VDI's parent (or a new raw volume) and switches the VDI to it only once it is
    /// complete (`SREngine.replaceContent`). Every chunk where the source differs from what the
    /// parent holds is written, so the new leaf stays sparse. The VDI must be at least as large
    /// as the source; beyond the source's end it reads as zeros afterwards.
    static func write(
        _ source: any ConversionSource, into record: VDIRecord, engine: SREngine, progress: ProgressReporter?
    )
        throws
    {
        guard source.virtualSize <= record.virtualSize else {
            throw SRError(
                .vdiSize,
                opterr: "the image holds \(source.virtualSize) bytes; VDI \(record.uuid) only \(record.virtualSize)")
        }
        _ = try engine.replaceContent(record.uuid) { staged in
            switch staged {
            case .chain(let chain):
                let held = try chain.allocatedRanges()
                try copy(
                    source, size: record.virtualSize, overwriting: held, current: { try chain.read(into: $0, at: $1) },
                    progress: progress
                ) { bytes, offset throws in try chain.write(bytes, at: offset) }
            case .raw(let store):
                try copy(source, size: record.virtualSize, overwriting: [], current: { _, _ in }, progress: progress) {
                    bytes, offset throws in try store.write(bytes, at: offset)
                }
            }
        }
    }

    /// Reads every chunk of `source` that may hold data and every chunk of `overwriting`
    /// (reading zeros past the source's end), up to `size`, and hands `sink` each chunk that
    /// differs from what the destination holds: a non-zero chunk where it holds nothing, or,
    /// where it holds data (`current` reads it), any chunk whose bytes are not already there.
    static func copy(
        _ source: any ConversionSource, size: UInt64, overwriting: [Range<UInt64>],
        current: (UnsafeMutableRawBufferPointer, UInt64) throws -> Void, progress: ProgressReporter?,
        _ sink: (UnsafeRawBufferPointer, UInt64) throws -> Void
    ) throws {
        let step = UInt64(chunk)
        let chunks = chunkStarts(try source.dataRanges(), limit: min(size, source.virtualSize), step: step)
        let held = chunkStarts(overwriting, limit: size, step: step)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        let existing = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer {
            buffer.deallocate()
            existing.deallocate()
        }
        for offset in chunks.union(held).sorted() {
            let count = Int(min(step, size - offset))
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[..<count])
            slice.initializeMemory(as: UInt8.self, repeating: 0)
            let readable = source.virtualSize > offset ? Int(min(UInt64(count), source.virtualSize - offset)) : 0
            if readable > 0 {
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: slice[..<readable]), at: offset)
            }
            let changed: Bool
            if held.contains(offset) {
                let old = UnsafeMutableRawBufferPointer(rebasing: existing[..<count])
                try current(old, offset)
                changed = !equal(UnsafeRawBufferPointer(old), UnsafeRawBufferPointer(slice))
            } else {
                changed = !ZeroDetection.isZero(UnsafeRawBufferPointer(slice))
            }
            if changed { try sink(UnsafeRawBufferPointer(slice), offset) }
            progress?.update(size == 0 ? 1 : Double(offset + UInt64(count)) / Double(size))
        }
        progress?.update(1)
    }

    /// The chunk-aligned offsets below `limit` that `ranges` touch.
    static func chunkStarts(_ ranges: [Range<UInt64>], limit: UInt64, step: UInt64) -> Set<UInt64> {
        var starts = Set<UInt64>()
        for range in ranges where range.lowerBound < limit {
            var offset = range.lowerBound / step * step
            while offset < min(range.upperBound, limit) {
                starts.insert(offset)
                offset += step
            }
        }
        return starts
    }

    static func equal(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> Bool {
        guard first.count == second.count else { return false }
        guard let a = first.baseAddress, let b = second.baseAddress else { return true }
        return memcmp(a, b, first.count) == 0
    }
}
