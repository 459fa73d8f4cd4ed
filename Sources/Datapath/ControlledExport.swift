import Foundation
import NBD
import Sockets

/// An export with a pause gate and I/O counters in front of an inner export (a `ChainExport`
/// or a `StoreExport`) that can be swapped while paused.
///
/// - `pause()` stops admitting requests (new ones wait, held, never failed), waits for those in
///   flight, then flushes the inner export: the files under it are then quiet and durable, and
///   may be snapshotted, relinked or resized.
/// - `unpause(replacement:)` optionally swaps in a new inner export (the chain re-opened), then
///   releases the held requests, which run against it.
/// - `close()` pauses, then fails every held and later request with `NBDError.closed`, which
///   makes the server drop the connection that sent it.
///
/// `size` and `isReadOnly` follow the current inner export.
///
/// Locking: `condition` (an `NSCondition`) guards `state`; it is never held while the inner
/// export runs, so a slow request blocks only `pause()`, which waits for it by design.
public final class ControlledExport: NBDExport, @unchecked Sendable {
    private struct State {
        var inner: any NBDExport
        var paused = false
        var closed = false
        var inFlight = 0
        var counters = IOCounters()
    }

    private let condition = NSCondition()
    private var state: State

    /// Serves `inner`, unpaused.
    public init(_ inner: any NBDExport) {
        state = State(inner: inner)
    }

    /// The export requests currently go to.
    public var inner: any NBDExport { locked { $0.inner } }
    public var size: UInt64 { inner.size }
    public var isReadOnly: Bool { inner.isReadOnly }
    /// Whether the gate is closed to new requests.
    public var isPaused: Bool { locked { $0.paused } }
    /// Whether `close()` was called.
    public var isClosed: Bool { locked { $0.closed } }
    /// The counters since the export was made.
    public var statistics: ExportStatistics { locked { $0.counters.snapshot } }

    // MARK: Control

    /// Holds new requests, waits until none is in flight, and flushes the inner export.
    /// Pausing a paused export only waits and flushes again.
    ///
    /// - Throws: the flush's error; the export stays paused.
    public func pause() throws(NBDError) {
        let inner = locked { state -> any NBDExport in
            state.paused = true
            while state.inFlight > 0 { condition.wait() }
            return state.inner
        }
        try inner.flush()
    }

    /// Swaps in `replacement` (when given) and releases the held requests. Does nothing when
    /// not paused: swapping under requests in flight would split them across two exports.
    ///
    /// - Returns: whether the export was paused (and so is now unpaused).
    @discardableResult
    public func unpause(replacement: (any NBDExport)? = nil) -> Bool {
        locked { state in
            guard state.paused, !state.closed else { return false }
            if let replacement { state.inner = replacement }
            state.paused = false
            condition.broadcast()
            return true
        }
    }

    /// Pauses (draining and flushing), then refuses every request from now on with
    /// `NBDError.closed`, held ones included. Closing twice is harmless.
    ///
    /// - Throws: the final flush's error; the export is closed anyway.
    public func close() throws(NBDError) {
        defer {
            locked { state in
                state.closed = true
                condition.broadcast()
            }
        }
        try pause()
    }

    // MARK: NBDExport

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(NBDError) {
        try run(.read, byteCount: buffer.count) { (inner) throws(NBDError) in try inner.read(into: buffer, at: offset) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(NBDError) {
        try run(.write, byteCount: bytes.count) { (inner) throws(NBDError) in try inner.write(bytes, at: offset) }
    }

    public func flush() throws(NBDError) {
        try run(.flush) { (inner) throws(NBDError) in try inner.flush() }
    }

    public func trim(_ range: Range<UInt64>) throws(NBDError) {
        try run(.trim) { (inner) throws(NBDError) in try inner.trim(range) }
    }

    public func writeZeroes(_ range: Range<UInt64>, keepAllocated: Bool) throws(NBDError) {
        try run(.writeZeroes) { (inner) throws(NBDError) in try inner.writeZeroes(range, keepAllocated: keepAllocated) }
    }

    public func blockStatus(_ range: Range<UInt64>) throws(NBDError) -> [Extent] {
        try run(.blockStatus) { (inner) throws(NBDError) in try inner.blockStatus(range) }
    }

    /// One admission for the map and the data (a pause cannot fall between them), counted as
    /// one read of the whole length.
    public func readMapped(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(NBDError) -> [Extent] {
        try run(.read, byteCount: buffer.count) { (inner) throws(NBDError) in try inner.readMapped(into: buffer, at: offset) }
    }

    // MARK: Gate

    /// Admits one request (waiting while paused), runs it on the current inner export, and
    /// counts it.
    private func run<T>(
        _ operation: IOCounters.Operation, byteCount: Int = 0, _ body: (any NBDExport) throws(NBDError) -> T
    ) throws(NBDError) -> T {
        let admitted = locked { state -> (any NBDExport)? in
            while state.paused && !state.closed { condition.wait() }
            guard !state.closed else { return nil }
            state.inFlight += 1
            return state.inner
        }
        guard let inner = admitted else { throw .closed }
        let start = MonotonicClock.microseconds()
        let result = Result { () throws(NBDError) in try body(inner) }
        let elapsed = MonotonicClock.microseconds() &- start
        locked { state in
            state.counters.record(operation, byteCount: byteCount, microseconds: elapsed, failed: isFailure(result))
            state.inFlight -= 1
            if state.inFlight == 0 { condition.broadcast() }
        }
        return try result.get()
    }

    private func isFailure<T>(_ result: Result<T, NBDError>) -> Bool {
        if case .failure = result { return true }
        return false
    }

    private func locked<T>(_ body: (inout State) -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body(&state)
    }
}
