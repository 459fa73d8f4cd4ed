import BlockIO
import VHDFormat

/// Converting between raw files and VHDs, streaming a block at a time in bounded memory:
/// raw → dynamic or fixed VHD, any VHD chain → raw (flattened) or → one dynamic or fixed VHD.
/// Holes and all-zero blocks are never allocated in a dynamic VHD and never written to a raw
/// file (which stays sparse). Like `qemu-img convert` and `dd`, a conversion does not flush
/// its output; `sync` asks for that.
public enum Convert {
    public enum Format: String, Sendable, CaseIterable {
        case raw
        case vhdDynamic = "vhd"
        case vhdFixed = "vhd-fixed"

        /// The format a path's extension names: `.vhd` a VHD (dynamic when writing), `.raw`,
        /// `.img` and `.bin` raw.
        public static func guess(from path: String) -> Format? {
            let lower = path.lowercased()
            if lower.hasSuffix(".vhd") { return .vhdDynamic }
            if lower.hasSuffix(".raw") || lower.hasSuffix(".img") || lower.hasSuffix(".bin") { return .raw }
            return nil
        }
    }

    /// Converts the file `input` into a new file `output` (replaced if it exists).
    public static func run(
        input: String, output: String, inputFormat: Format? = nil, outputFormat: Format? = nil,
        sync: Bool = false, progress: ((Double) -> Void)? = nil
    ) throws(VHDError) {
        guard let from = inputFormat ?? Format.guess(from: input) else {
            throw .invalidArgument("cannot tell the format of \(input) from its name: give it explicitly")
        }
        guard let to = outputFormat ?? Format.guess(from: output) else {
            throw .invalidArgument("cannot tell the format of \(output) from its name: give it explicitly")
        }
        let source: any ConversionSource
        if from == .raw {
            source = RawSource(store: try FileAccess.store(input, writable: false))
        } else {
            source = try Chain.open(leaf: try FileAccess.image(input, writable: false), resolver: FileParentResolver())
        }
        if FileParentResolver.canonicalPath(input) == FileParentResolver.canonicalPath(output) {
            throw .invalidArgument("input and output are the same file: \(input)")
        }
        let store: FileBlockStore
        do { store = try FileBlockStore.create(path: output, mode: .truncate) } catch { throw .io(error) }
        try convert(source, to: to, store: store, progress: progress)
        if sync { try VHDError.wrap { () throws(BlockIOError) in try store.flush() } }
    }

    /// Streams `source` into `store` (empty) in `format`; a dynamic VHD's BAT is sized for
    /// `preallocatedSize` when given (room to grow without moving blocks).
    public static func convert(
        _ source: any ConversionSource, to format: Format, store: any BlockStore, preallocatedSize: UInt64? = nil,
        progress: ((Double) -> Void)? = nil
    ) throws(VHDError) {
        let sink: any ConversionSink
        let vhdSize = roundUp(source.virtualSize, to: sectorSize)
        switch format {
        case .raw: sink = try RawSink(store: store, size: source.virtualSize, footer: nil)
        case .vhdFixed:
            let footer = Footer(
                diskType: .fixed, currentSize: vhdSize, uuid: .random(), timestamp: .now(),
                dataOffset: Footer.noDataOffset)
            sink = try RawSink(store: store, size: vhdSize, footer: footer)
        case .vhdDynamic: sink = try DynamicVHDSink(store: store, size: vhdSize, preallocatedSize: preallocatedSize)
        }
        try pump(source, into: sink, chunk: sink.chunkSize, progress: progress)
    }

    static func pump(
        _ source: any ConversionSource, into sink: any ConversionSink, chunk: UInt64, progress: ((Double) -> Void)?
    ) throws(VHDError) {
        let size = source.virtualSize
        let allocated = try source.dataRanges()
        var buffer = [UInt8](repeating: 0, count: Int(chunk))
        var rangeIndex = 0
        var offset: UInt64 = 0
        while offset < size {
            let count = min(chunk, size - offset)
            while rangeIndex < allocated.count, allocated[rangeIndex].upperBound <= offset { rangeIndex += 1 }
            let hasData = rangeIndex < allocated.count && allocated[rangeIndex].lowerBound < offset + count
            if hasData {
                try buffer.withMutableBytes { (bytes) throws(VHDError) in
                    let slice = UnsafeMutableRawBufferPointer(rebasing: bytes[..<Int(count)])
                    try source.read(into: slice, at: offset)
                    if !ZeroDetection.isZero(UnsafeRawBufferPointer(slice)) {
                        try sink.write(UnsafeRawBufferPointer(slice), at: offset)
                    }
                }
            }
            offset += count
            progress?(Double(offset) / Double(size))
        }
        try sink.finish()
        if size == 0 { progress?(1) }
    }
}

/// Where converted data comes from.
public protocol ConversionSource {
    var virtualSize: UInt64 { get }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(VHDError)
    /// The ranges that may hold non-zero data; everything else reads as zeros.
    func dataRanges() throws(VHDError) -> [Range<UInt64>]
}

extension Chain: ConversionSource {
    public func dataRanges() throws(VHDError) -> [Range<UInt64>] { try allocatedRanges() }
}

/// A raw file as a conversion source; its holes (SEEK_HOLE) are skipped.
public struct RawSource: ConversionSource {
    public let store: any BlockStore
    public init(store: any BlockStore) { self.store = store }
    public var virtualSize: UInt64 { store.size }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(VHDError) {
        try VHDError.wrap { () throws(BlockIOError) in try store.read(into: buffer, at: offset) }
    }

    public func dataRanges() throws(VHDError) -> [Range<UInt64>] {
        try VHDError.wrap { () throws(BlockIOError) in try store.allocatedRanges(in: 0..<store.size) }
    }
}

/// Fast all-zero test of a buffer, a word at a time.
public enum ZeroDetection {
    public static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let words = bytes.count / 8
        var accumulated: UInt64 = 0
        var index = 0
        while index < words {
            accumulated |= base.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)
            if index & 511 == 511 && accumulated != 0 { return false }
            index += 1
        }
        for tail in (words * 8)..<bytes.count { accumulated |= UInt64(bytes[tail]) }
        return accumulated == 0
    }
}
