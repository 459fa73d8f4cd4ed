/// Extents of other stores concatenated, in order, into one logical store: how an LVM
/// logical volume is read through its physical extents without device-mapper.
///
/// Reads, writes and discards that span extents are split at the boundaries; allocation
/// queries are translated and rejoined. The size is the sum of the extent lengths and never
/// changes. The store holds no mutable state of its own.
public final class ExtentMapBlockStore: BlockStore {
    /// `length` bytes of `store` starting at `offset`.
    public struct Extent: Sendable {
        /// The store holding the bytes.
        public var store: any BlockStore
        /// Where the extent starts in `store`, in bytes.
        public var offset: UInt64
        /// The extent's length in bytes.
        public var length: UInt64

        public init(store: any BlockStore, offset: UInt64, length: UInt64) {
            self.store = store
            self.offset = offset
            self.length = length
        }
    }

    /// The extents, in logical order.
    public let extents: [Extent]
    public let name: String
    public let size: UInt64
    public let isReadOnly: Bool
    public var canGrow: Bool { false }
    /// The logical offset at which each extent starts.
    private let starts: [UInt64]

    /// Maps `extents` end to end.
    ///
    /// - Parameters:
    ///   - readOnly: reject writes even when every underlying store accepts them. The map is
    ///     read-only anyway when any extent's store is.
    /// - Throws: `.outOfRange` for an extent of zero length or one that does not lie within
    ///   its store (the operation names the extent's index).
    public init(name: String, extents: [Extent], readOnly: Bool = false) throws(BlockIOError) {
        var starts: [UInt64] = []
        var total: UInt64 = 0
        for (index, extent) in extents.enumerated() {
            let (end, overflow) = extent.offset.addingReportingOverflow(extent.length)
            let (newTotal, totalOverflow) = total.addingReportingOverflow(extent.length)
            if extent.length == 0 || overflow || end > extent.store.size || totalOverflow {
                throw .outOfRange(
                    store: extent.store.name,
                    operation: "extent #\(index) of \(name)",
                    offset: extent.offset,
                    count: extent.length,
                    size: extent.store.size
                )
            }
            starts.append(total)
            total = newTotal
        }
        self.name = name
        self.extents = extents
        self.starts = starts
        self.size = total
        self.isReadOnly = readOnly || extents.contains { $0.store.isReadOnly }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BlockIOError) {
        try checkRange(offset: offset, count: buffer.count, operation: "read")
        for piece in pieces(of: offset..<offset + UInt64(buffer.count)) {
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[piece.bufferRange(from: offset)])
            try extents[piece.index].store.read(into: part, at: piece.storeRange.lowerBound)
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BlockIOError) {
        if isReadOnly { throw .readOnly(store: name) }
        try checkRange(offset: offset, count: bytes.count, operation: "write")
        for piece in pieces(of: offset..<offset + UInt64(bytes.count)) {
            let part = UnsafeRawBufferPointer(rebasing: bytes[piece.bufferRange(from: offset)])
            try extents[piece.index].store.write(part, at: piece.storeRange.lowerBound)
        }
    }

    /// Flushes each distinct underlying store once.
    public func flush() throws(BlockIOError) {
        var flushed: Set<ObjectIdentifier> = []
        for extent in extents where flushed.insert(ObjectIdentifier(extent.store)).inserted {
            try extent.store.flush()
        }
    }

    /// Throws `.unsupported` unless `size` is unchanged: the map has a fixed size.
    public func resize(to newSize: UInt64) throws(BlockIOError) {
        if newSize != size { throw .unsupported(store: name, operation: "resize") }
    }

    public func discard(_ range: Range<UInt64>) throws(BlockIOError) {
        if isReadOnly { throw .readOnly(store: name) }
        try checkRange(range, operation: "discard")
        for piece in pieces(of: range) {
            try extents[piece.index].store.discard(piece.storeRange)
        }
    }

    /// Each extent's allocated ranges, in logical offsets, clamped to `size`; ranges that meet
    /// across an extent boundary are joined.
    public func allocatedRanges(in range: Range<UInt64>) throws(BlockIOError) -> [Range<UInt64>] {
        var result: [Range<UInt64>] = []
        for piece in pieces(of: range.clamped(to: 0..<size)) {
            let store = extents[piece.index].store
            for allocated in try store.allocatedRanges(in: piece.storeRange) {
                let inside = allocated.clamped(to: piece.storeRange)
                guard !inside.isEmpty else { continue }
                let logicalStart = piece.logicalStart + (inside.lowerBound - piece.storeRange.lowerBound)
                let logical = logicalStart..<logicalStart + UInt64(inside.upperBound - inside.lowerBound)
                if let last = result.last, last.upperBound == logical.lowerBound {
                    result[result.count - 1] = last.lowerBound..<logical.upperBound
                } else {
                    result.append(logical)
                }
            }
        }
        return result
    }

    /// The part of a logical range that falls in one extent.
    private struct Piece {
        /// The extent's index in `extents`.
        var index: Int
        /// Where the part starts, in logical offsets.
        var logicalStart: UInt64
        /// The part, in the extent's store's offsets.
        var storeRange: Range<UInt64>

        /// The part's position in a buffer that starts at logical `offset`.
        func bufferRange(from offset: UInt64) -> Range<Int> {
            let start = Int(logicalStart - offset)
            return start..<start + Int(storeRange.upperBound - storeRange.lowerBound)
        }
    }

    /// Splits `range` (within `size`) at extent boundaries.
    private func pieces(of range: Range<UInt64>) -> [Piece] {
        guard !range.isEmpty else { return [] }
        var result: [Piece] = []
        var index = extentIndex(containing: range.lowerBound)
        var position = range.lowerBound
        while position < range.upperBound && index < extents.count {
            let extent = extents[index]
            let within = position - starts[index]
            let count = min(extent.length - within, range.upperBound - position)
            let storeStart = extent.offset + within
            result.append(Piece(index: index, logicalStart: position, storeRange: storeStart..<storeStart + count))
            position += count
            index += 1
        }
        return result
    }

    /// The index of the extent holding logical `offset` (`offset` < `size`), by binary search.
    private func extentIndex(containing offset: UInt64) -> Int {
        var low = 0
        var high = starts.count
        while high - low > 1 {
            let middle = (low + high) / 2
            if starts[middle] <= offset { low = middle } else { high = middle }
        }
        return low
    }
}
