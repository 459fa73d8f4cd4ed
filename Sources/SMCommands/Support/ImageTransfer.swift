import BlockIO
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

    /// The VDI's content as a conversion source.
    static func source(vdi record: VDIRecord, engine: SREngine) throws -> any ConversionSource {
        if record.volumeType == .vhd { return try engine.openChain(record.uuid, writable: false) }
        let volume = VolumeNaming.volume(for: record.uuid, type: .raw)
        return RawSource(store: try engine.container.open(volume, writable: false))
    }

    /// Writes `source` into the (new, empty) VDI `record`.
    static func write(_ source: any ConversionSource, into record: VDIRecord, engine: SREngine, progress: ProgressReporter?)
        throws
    {
        if record.volumeType == .vhd {
            let chain = try engine.openChain(record.uuid, writable: true)
            try copy(source, progress: progress) { bytes, offset throws in try chain.write(bytes, at: offset) }
            try chain.leaf.flush()
        } else {
            let volume = VolumeNaming.volume(for: record.uuid, type: .raw)
            let store = try engine.container.open(volume, writable: true)
            try copy(source, progress: progress) { bytes, offset throws in try store.write(bytes, at: offset) }
            try store.flush()
        }
    }

    /// Reads every possibly non-zero chunk of `source` and hands the non-zero ones to `sink`.
    static func copy(
        _ source: any ConversionSource, progress: ProgressReporter?,
        _ sink: (UnsafeRawBufferPointer, UInt64) throws -> Void
    ) throws {
        let size = source.virtualSize
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var done: UInt64 = 0
        for range in try source.dataRanges() {
            var offset = range.lowerBound / UInt64(chunk) * UInt64(chunk)
            while offset < min(range.upperBound, size) {
                let count = Int(min(UInt64(chunk), size - offset))
                let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[..<count])
                try source.read(into: slice, at: offset)
                if !isZero(UnsafeRawBufferPointer(slice)) { try sink(UnsafeRawBufferPointer(slice), offset) }
                offset += UInt64(count)
                done = max(done, offset)
                progress?.update(size == 0 ? 1 : Double(done) / Double(size))
            }
        }
        progress?.update(1)
    }

    static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let words = bytes.count / 8
        var index = 0
        while index < words {
            if base.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) != 0 { return false }
            index += 1
        }
        for tail in (words * 8)..<bytes.count where bytes[tail] != 0 { return false }
        return true
    }
}
