/// A fixed window `offset ..< offset + length` of another store, addressed from zero.
///
/// Every access is bounds-checked against `length` and then forwarded with `offset` added;
/// discards and allocation queries are translated both ways. The slice never grows, even
/// over a store that can. It holds no mutable state of its own.
public final class SliceBlockStore: BlockStore {
    /// The store the slice is cut from.
    public let base: any BlockStore
    /// Where the slice starts in `base`, in bytes.
    public let offset: UInt64
    public let name: String
    public let size: UInt64
    public let isReadOnly: Bool
    public var canGrow: Bool { false }

    /// Cuts `length` bytes at `offset` out of `base`.
    ///
    /// - Parameters:
    ///   - name: a name for errors; by default "`base.name`[offset+length]".
    ///   - readOnly: reject writes even when `base` accepts them.
    /// - Throws: `.outOfRange` if the window does not lie within `base.size`.
    public init(
        base: any BlockStore,
        offset: UInt64,
        length: UInt64,
        name: String? = nil,
        readOnly: Bool = false
    ) throws(BlockIOError) {
        let (end, overflow) = offset.addingReportingOverflow(length)
        if overflow || end > base.size {
            throw .outOfRange(store: base.name, operation: "slice", offset: offset, count: length, size: base.size)
        }
        self.base = base
        self.offset = offset
        self.size = length
        self.name = name ?? "\(base.name)[\(offset)+\(length)]"
        self.isReadOnly = readOnly || base.isReadOnly
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BlockIOError) {
        try checkRange(offset: offset, count: buffer.count, operation: "read")
        try base.read(into: buffer, at: self.offset + offset)
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BlockIOError) {
        if isReadOnly { throw .readOnly(store: name) }
        try checkRange(offset: offset, count: bytes.count, operation: "write")
        try base.write(bytes, at: self.offset + offset)
    }

    public func flush() throws(BlockIOError) {
        try base.flush()
    }

    /// Throws `.unsupported` unless `size` is unchanged: a slice has a fixed size.
    public func resize(to newSize: UInt64) throws(BlockIOError) {
        if newSize != size { throw .unsupported(store: name, operation: "resize") }
    }

    public func discard(_ range: Range<UInt64>) throws(BlockIOError) {
        if isReadOnly { throw .readOnly(store: name) }
        guard !range.isEmpty else { return }
        try checkRange(range, operation: "discard")
        try base.discard(translated(range))
    }

    /// The base's allocated ranges inside the slice, clamped to `size`, relative to the slice.
    public func allocatedRanges(in range: Range<UInt64>) throws(BlockIOError) -> [Range<UInt64>] {
        let clamped = range.clamped(to: 0..<size)
        guard !clamped.isEmpty else { return [] }
        let window = translated(clamped)
        return try base.allocatedRanges(in: window).compactMap { allocated in
            let inside = allocated.clamped(to: window)
            return inside.isEmpty ? nil : (inside.lowerBound - offset)..<(inside.upperBound - offset)
        }
    }

    /// `range` moved into the base's address space (the caller has bounds-checked it).
    private func translated(_ range: Range<UInt64>) -> Range<UInt64> {
        (range.lowerBound + offset)..<(range.upperBound + offset)
    }
}
