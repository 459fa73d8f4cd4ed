/// Byte-addressed storage: the protocol every format (VHD, raw) reads and writes through.
///
/// Offsets and lengths are in bytes. Reads past `size` throw `.outOfRange`. Writes past `size`
/// grow a store whose `canGrow` is true (a file) and throw `.outOfRange` on a fixed-size one
/// (a block device, an LV, a LUN).
///
/// Conformers are `Sendable`; a conformer that owns mutable state documents the lock that
/// guards it. Calls may come from several threads at once.
public protocol BlockStore: AnyObject, Sendable {
    /// A short human name for errors ("disk.vhd", "/dev/loop3", "lv VG/LV").
    var name: String { get }
    /// The current size in bytes.
    var size: UInt64 { get }
    /// Whether a write past `size` grows the store (a regular file) instead of failing.
    var canGrow: Bool { get }
    /// Whether the store rejects writes.
    var isReadOnly: Bool { get }

    /// Fills `buffer` with the bytes at `offset`; the whole range must lie within `size`.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BlockIOError)
    /// Writes `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BlockIOError)
    /// Makes every completed write durable.
    func flush() throws(BlockIOError)
    /// Sets the size: truncates or extends a growable store; a fixed store throws `.unsupported`
    /// unless `size` is unchanged.
    func resize(to size: UInt64) throws(BlockIOError)
    /// Releases the space behind `range` where the store can; the range then reads as zeros.
    func discard(_ range: Range<UInt64>) throws(BlockIOError)
    /// The sub-ranges of `range` that hold data, in order. A store that cannot tell reports
    /// the whole of `range` (everything may hold data).
    func allocatedRanges(in range: Range<UInt64>) throws(BlockIOError) -> [Range<UInt64>]
}

extension BlockStore {
    /// Reads `count` bytes at `offset` into a new array.
    public func read(count: Int, at offset: UInt64) throws(BlockIOError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var outcome: Result<Void, BlockIOError> = .success(())
        bytes.withUnsafeMutableBytes { buffer in
            outcome = Result { () throws(BlockIOError) in try read(into: buffer, at: offset) }
        }
        try outcome.get()
        return bytes
    }

    /// Writes the bytes of `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: UInt64) throws(BlockIOError) {
        var outcome: Result<Void, BlockIOError> = .success(())
        bytes.withUnsafeBytes { buffer in
            outcome = Result { () throws(BlockIOError) in try write(buffer, at: offset) }
        }
        try outcome.get()
    }

    /// Writes `count` zero bytes at `offset`, in bounded chunks.
    public func writeZeros(count: UInt64, at offset: UInt64) throws(BlockIOError) {
        let chunk = [UInt8](repeating: 0, count: Int(min(count, 1 << 20)))
        var done: UInt64 = 0
        while done < count {
            let n = Int(min(UInt64(chunk.count), count - done))
            var outcome: Result<Void, BlockIOError> = .success(())
            chunk.withUnsafeBytes { buffer in
                outcome = Result { () throws(BlockIOError) in
                    try write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), at: offset + done)
                }
            }
            try outcome.get()
            done += UInt64(n)
        }
    }

    /// Throws `.outOfRange` unless `offset ..< offset + count` lies within `size`.
    public func checkRange(offset: UInt64, count: Int, operation: String) throws(BlockIOError) {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        if overflow || end > size {
            throw .outOfRange(store: name, operation: operation, offset: offset, count: UInt64(count), size: size)
        }
    }

    /// Throws `.outOfRange` unless `range` lies within `size`.
    public func checkRange(_ range: Range<UInt64>, operation: String) throws(BlockIOError) {
        if range.upperBound > size {
            let count = range.upperBound - range.lowerBound
            throw .outOfRange(store: name, operation: operation, offset: range.lowerBound, count: count, size: size)
        }
    }
}
