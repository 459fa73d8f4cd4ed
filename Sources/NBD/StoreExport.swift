import BlockIO

/// A raw volume served over NBD: a `BlockStore` (a `.raw` file, a block device, an LV) read and
/// written as it is, TRIM as `discard`, block status from the store's allocated ranges
/// (`SEEK_DATA`/`SEEK_HOLE` for a file; unallocated = hole and zero).
///
/// No lock of its own: a `BlockStore` takes calls from several threads at once, and its
/// `flush` covers every completed write, whichever connection made it (`NBD_FLAG_CAN_MULTI_CONN`).
public final class StoreExport: NBDExport, @unchecked Sendable {
    /// The store served.
    public let store: any BlockStore
    public let isReadOnly: Bool
    /// The store's size when the export was made: a raw export never grows under its clients
    /// (writes past it are refused before they reach the store, which could grow a file).
    public let size: UInt64

    /// Serves `store`; `readOnly` refuses writes even when the store is writable.
    public init(store: any BlockStore, readOnly: Bool = false) {
        self.store = store
        self.isReadOnly = readOnly || store.isReadOnly
        self.size = store.size
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(NBDError) {
        try mapped { () throws(BlockIOError) in try store.read(into: buffer, at: offset) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(NBDError) {
        try refuseIfReadOnly()
        try mapped { () throws(BlockIOError) in try store.write(bytes, at: offset) }
    }

    public func flush() throws(NBDError) {
        guard !isReadOnly else { return }
        try mapped { () throws(BlockIOError) in try store.flush() }
    }

    /// Releases the space behind `range` where the store can; a store that cannot discard
    /// (`.unsupported`) ignores the hint, as TRIM allows.
    public func trim(_ range: Range<UInt64>) throws(NBDError) {
        try refuseIfReadOnly()
        do {
            try store.discard(range)
        } catch {
            if case .unsupported = error { return }
            throw Self.map(error)
        }
    }

    /// Zeroes `range`: by discarding it (a punched hole reads as zeroes) unless `keepAllocated`
    /// or the store cannot discard, else by writing zeroes.
    public func writeZeroes(_ range: Range<UInt64>, keepAllocated: Bool) throws(NBDError) {
        try refuseIfReadOnly()
        let count = range.upperBound - range.lowerBound
        if !keepAllocated {
            do {
                return try store.discard(range)
            } catch {
                guard case .unsupported = error else { throw Self.map(error) }
            }
        }
        try mapped { () throws(BlockIOError) in try store.writeZeros(count: count, at: range.lowerBound) }
    }

    public func blockStatus(_ range: Range<UInt64>) throws(NBDError) -> [Extent] {
        let allocated = try mapped { () throws(BlockIOError) in try store.allocatedRanges(in: range) }
        return ChainExport.extents(of: range, allocated: allocated)
    }

    private func refuseIfReadOnly() throws(NBDError) {
        if isReadOnly { throw .export(errno: NBDErrno.eperm, message: "\(store.name) is served read-only") }
    }

    private func mapped<T>(_ body: () throws(BlockIOError) -> T) throws(NBDError) -> T {
        do { return try body() } catch { throw Self.map(error) }
    }

    /// Maps a store error to the NBD error value the client sees.
    static func map(_ error: BlockIOError) -> NBDError {
        let errno: UInt32
        switch error {
        case .readOnly: errno = NBDErrno.eperm
        case .outOfRange: errno = NBDErrno.einval
        case .unsupported: errno = NBDErrno.enotsup
        case let full where full.isOutOfSpace: errno = NBDErrno.enospc
        default: errno = NBDErrno.eio
        }
        return .export(errno: errno, message: "\(error)")
    }
}
