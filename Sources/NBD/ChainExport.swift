import BlockIO
import VHD

/// A VHD chain served over NBD: reads through the chain, writes to the leaf, block status from
/// the chain's allocated ranges (unallocated in every layer = hole and zero).
///
/// Locking: `lock` (a reader-writer lock) lets reads, block status and flush run in parallel
/// (`Image` guards its metadata caches with its own mutex) and gives each write, trim and
/// zeroing the chain alone: a discard may free space a later allocation reuses, so no read may
/// hold a block offset across it. All connections share one engine, so a FLUSH on any of them
/// covers the writes of all (what `NBD_FLAG_CAN_MULTI_CONN` promises).
public final class ChainExport: NBDExport, @unchecked Sendable {
    private let chain: Chain
    private let lock = ReadWriteLock()
    public let isReadOnly: Bool
    public var size: UInt64 { chain.virtualSize }

    /// Serves `chain`; `readOnly` refuses writes even when the leaf is open read-write.
    public init(chain: Chain, readOnly: Bool = false) {
        self.chain = chain
        self.isReadOnly = readOnly || !chain.leaf.isWritable
    }

    /// The chain's images, leaf first: what a re-open after a pause may reuse.
    public var layers: [Image] { chain.layers }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(NBDError) {
        try locked(exclusive: false) { () throws(VHDError) in try chain.read(into: buffer, at: offset) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(NBDError) {
        try locked(exclusive: true) { () throws(VHDError) in try chain.write(bytes, at: offset) }
    }

    /// Shared: every write it must cover completed under the exclusive lock before it.
    public func flush() throws(NBDError) {
        try locked(exclusive: false) { () throws(VHDError) in try chain.leaf.flush() }
    }

    /// Releases the space behind `range` where the leaf can (`Chain.discard`): whole blocks of a
    /// leaf without a parent go back to unused and are punched out of the file; elsewhere zeroes
    /// are written only where the chain holds data.
    public func trim(_ range: Range<UInt64>) throws(NBDError) {
        try locked(exclusive: true) { () throws(VHDError) in try chain.discard(range) }
    }

    /// With `keepAllocated` (`NBD_CMD_FLAG_NO_HOLE`) writes zeroes over all of `range`; without,
    /// it may punch holes, which is what `trim` does.
    public func writeZeroes(_ range: Range<UInt64>, keepAllocated: Bool) throws(NBDError) {
        try locked(exclusive: true) { () throws(VHDError) in
            if keepAllocated { try chain.writeZeroes(range) } else { try chain.discard(range) }
        }
    }

    public func blockStatus(_ range: Range<UInt64>) throws(NBDError) -> [Extent] {
        let allocated = try locked(exclusive: false) { () throws(VHDError) in try chain.allocatedRanges(in: range) }
        return Self.extents(of: range, allocated: allocated)
    }

    /// The map and the data under one hold of the shared lock, so no write or trim falls
    /// between them.
    public func readMapped(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(NBDError) -> [Extent] {
        let range = offset..<offset + UInt64(buffer.count)
        let allocated = try locked(exclusive: false) { () throws(VHDError) -> [Range<UInt64>] in
            let allocated = try chain.allocatedRanges(in: range)
            try chain.read(into: buffer, at: offset)
            return allocated
        }
        return Self.extents(of: range, allocated: allocated)
    }

    /// `range` cut into extents: allocated ranges as data (0), the gaps as hole and zero.
    static func extents(of range: Range<UInt64>, allocated: [Range<UInt64>]) -> [Extent] {
        var extents: [Extent] = []
        var cursor = range.lowerBound
        func emit(_ end: UInt64, _ flags: AllocationFlags) {
            guard end > cursor else { return }
            if let last = extents.last, last.flags == flags {
                extents[extents.count - 1].length += UInt32(end - cursor)
            } else {
                extents.append(Extent(length: UInt32(end - cursor), flags: flags))
            }
            cursor = end
        }
        for data in allocated where data.upperBound > cursor && data.lowerBound < range.upperBound {
            emit(max(cursor, data.lowerBound), [.hole, .zero])
            emit(min(range.upperBound, data.upperBound), [])
        }
        emit(range.upperBound, [.hole, .zero])
        return extents
    }

    private func locked<T>(exclusive: Bool, _ body: () throws(VHDError) -> T) throws(NBDError) -> T {
        do {
            return try lock.withLock(exclusive: exclusive) { () throws(VHDError) in try body() }
        } catch {
            throw Self.map(error)
        }
    }

    /// Maps an engine error to the NBD error value the client sees: a full file system under
    /// the leaf is `ENOSPC`, as a full image is, so the guest sees a full disk, not a broken one.
    static func map(_ error: VHDError) -> NBDError {
        switch error {
        case .readOnly: return .export(errno: NBDErrno.eperm, message: "\(error)")
        case .noSpace: return .export(errno: NBDErrno.enospc, message: "\(error)")
        case .io(let cause) where cause.isOutOfSpace: return .export(errno: NBDErrno.enospc, message: "\(error)")
        case .outOfRange, .unaligned, .invalidArgument: return .export(errno: NBDErrno.einval, message: "\(error)")
        default: return .export(errno: NBDErrno.eio, message: "\(error)")
        }
    }
}
