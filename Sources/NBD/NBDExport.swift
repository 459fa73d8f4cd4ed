/// `base:allocation` status bits (NBD spec, "base:allocation metadata context").
public struct AllocationFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `NBD_STATE_HOLE`: not allocated.
    public static let hole = AllocationFlags(rawValue: 1 << 0)
    /// `NBD_STATE_ZERO`: reads as zeroes.
    public static let zero = AllocationFlags(rawValue: 1 << 1)
}

/// One block-status descriptor: `length` bytes (non-zero) with the same allocation status.
public struct Extent: Sendable, Hashable {
    public var length: UInt32
    public var flags: AllocationFlags
    public init(length: UInt32, flags: AllocationFlags) {
        self.length = length
        self.flags = flags
    }
}

/// What the server serves: a byte-addressed disk. Offsets and lengths are in bytes and already
/// checked against `size` by the server; every method may be called from several connection
/// threads at once.
public protocol NBDExport: AnyObject, Sendable {
    /// The export size in bytes.
    var size: UInt64 { get }
    /// Whether writes, trims and zeroing are refused (`NBD_FLAG_READ_ONLY`).
    var isReadOnly: Bool { get }
    /// Fills `buffer` from `offset`.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(NBDError)
    /// Writes `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(NBDError)
    /// Makes every completed write durable.
    func flush() throws(NBDError)
    /// A hint that `range` is no longer needed; it may do nothing.
    func trim(_ range: Range<UInt64>) throws(NBDError)
    /// Makes `range` read back as zeroes; `keepAllocated` is `NBD_CMD_FLAG_NO_HOLE`.
    func writeZeroes(_ range: Range<UInt64>, keepAllocated: Bool) throws(NBDError)
    /// The allocation status of `range`, from its start, in order; at least one extent.
    func blockStatus(_ range: Range<UInt64>) throws(NBDError) -> [Extent]
    /// Fills `buffer` from `offset` and returns the allocation status of what it read, both
    /// from one state of the disk (no write, pause or chain switch between them): what a
    /// structured READ reply, which sends holes as hole chunks, is built from. One request.
    func readMapped(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(NBDError) -> [Extent]
}

extension NBDExport {
    /// The status, then the data: atomic for an export whose data does not change under it.
    public func readMapped(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(NBDError) -> [Extent] {
        let extents = try blockStatus(offset..<offset + UInt64(buffer.count))
        try read(into: buffer, at: offset)
        return extents
    }
}
