import Synchronization

/// A decorator that counts and logs the calls that change another store and fails one of
/// them on purpose: how tests simulate a crash at every step of a multi-step operation.
///
/// Arm it with a `Fault`: the operation whose 0-based index (counting only the kinds in
/// `Fault.counting`, writes by default, from when it was armed) equals `Fault.index` throws
/// `.injectedFault`, or `.system` with `Fault.errno` when one is given (`ENOSPC`: the file
/// system filled up). A faulting write can first be torn: part of it reaches the base store.
/// After the fault the store either "crashes" (every later write, discard, resize and flush
/// throws, as if the machine stopped) or lets later calls through. Reads always pass through,
/// so a test can inspect what a crash left behind.
///
/// Locking: `state` (a `Mutex`) guards the counters, the fault and the log. The decision for a
/// call is taken and logged under the lock; the base store is called outside it.
public final class FaultInjectingBlockStore: BlockStore {
    /// Kinds of calls that change the store (or make it durable).
    public struct Operations: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        public static let write = Operations(rawValue: 1 << 0)
        public static let flush = Operations(rawValue: 1 << 1)
        public static let discard = Operations(rawValue: 1 << 2)
        public static let resize = Operations(rawValue: 1 << 3)
        /// Every call that changes the contents or the size.
        public static let mutations: Operations = [.write, .discard, .resize]
        public static let all: Operations = [.write, .flush, .discard, .resize]
    }

    /// How much of a faulting write reaches the base store before the error.
    public enum TornWrite: Sendable, Equatable {
        /// None of it.
        case none
        /// Its first `byteCount` bytes (clamped to the write's length).
        case prefix(byteCount: Int)
        /// Its last `byteCount` bytes (clamped to the write's length).
        case suffix(byteCount: Int)

        /// The bytes that land.
        var byteCount: Int {
            switch self {
            case .none: return 0
            case .prefix(let count), .suffix(let count): return count
            }
        }

        /// The same tear for a write of `count` bytes.
        func clamped(to count: Int) -> TornWrite {
            switch self {
            case .none: return .none
            case .prefix(let torn): return .prefix(byteCount: max(0, min(torn, count)))
            case .suffix(let torn): return .suffix(byteCount: max(0, min(torn, count)))
            }
        }
    }

    /// What happens to the calls after the fault.
    public enum AfterFault: Sendable, Equatable {
        /// Every later write, discard, resize and flush fails too.
        case crash
        /// Later calls reach the base store again.
        case proceed
    }

    /// When and how to fail.
    public struct Fault: Sendable, Equatable {
        /// The 0-based index, among the calls of the kinds in `counting`, of the call that fails.
        public var index: Int
        /// The kinds of calls `index` counts.
        public var counting: Operations
        /// How much of the faulting call, if it is a write, lands first.
        public var tornWrite: TornWrite
        /// Whether the store "crashes" after the fault.
        public var afterwards: AfterFault
        /// The errno the faulting call (and, after a crash, every refused one) fails with, as a
        /// failed system call would; nil for `.injectedFault`.
        public var errno: Int32?

        public init(
            index: Int,
            counting: Operations = .write,
            tornWrite: TornWrite = .none,
            afterwards: AfterFault = .crash,
            errno: Int32? = nil
        ) {
            self.index = index
            self.counting = counting
            self.tornWrite = tornWrite
            self.afterwards = afterwards
            self.errno = errno
        }
    }

    /// A call that reached this store.
    public enum Operation: Sendable, Equatable {
        case write(offset: UInt64, count: Int)
        case flush
        case discard(Range<UInt64>)
        case resize(to: UInt64)

        var kind: Operations {
            switch self {
            case .write: return .write
            case .flush: return .flush
            case .discard: return .discard
            case .resize: return .resize
            }
        }
    }

    /// What became of a call.
    public enum Outcome: Sendable, Equatable {
        /// Passed to the base store (which may still have failed it).
        case forwarded
        /// The injected fault, after `writtenByteCount` bytes of a torn write landed.
        case faulted(writtenByteCount: Int)
        /// Refused because the store had crashed.
        case refused
    }

    /// One logged call.
    public struct Event: Sendable, Equatable {
        public var operation: Operation
        public var outcome: Outcome
    }

    /// The wrapped store.
    public let base: any BlockStore
    public let name: String
    public var size: UInt64 { base.size }
    public var canGrow: Bool { base.canGrow }
    public var isReadOnly: Bool { base.isReadOnly }

    private struct State {
        var fault: Fault?
        var countedSinceArmed = 0
        var hasCrashed = false
        /// The errno of the fault that crashed the store, which refused calls fail with too.
        var crashErrno: Int32?
        var counts: [Operations: Int] = [:]
        var events: [Event] = []
    }

    private let state: Mutex<State>

    /// Wraps `base`, armed with `fault` if given.
    public init(base: any BlockStore, name: String? = nil, fault: Fault? = nil) {
        self.base = base
        self.name = name ?? "fault-injecting \(base.name)"
        self.state = Mutex(State(fault: fault))
    }

    /// Arms `fault`, counting its index from the next call; clears a crash.
    public func arm(_ fault: Fault) {
        state.withLock {
            $0.fault = fault
            $0.countedSinceArmed = 0
            $0.hasCrashed = false
        }
    }

    /// Removes the fault and clears a crash; counters and the log stay.
    public func disarm() {
        state.withLock {
            $0.fault = nil
            $0.hasCrashed = false
        }
    }

    /// Clears the counters, the log, the fault and a crash.
    public func reset() {
        state.withLock { $0 = State() }
    }

    /// Whether the fault has fired with `.crash`, so that changes are refused.
    public var hasCrashed: Bool { state.withLock { $0.hasCrashed } }
    /// Every write call seen (forwarded, faulted or refused) since creation or `reset()`.
    public var writeCount: Int { count(of: .write) }
    /// Every flush call seen since creation or `reset()`.
    public var flushCount: Int { count(of: .flush) }
    /// Every call of `kind` (a single kind) seen since creation or `reset()`.
    public func count(of kind: Operations) -> Int { state.withLock { $0.counts[kind, default: 0] } }
    /// Every write, flush, discard and resize, in the order they were decided.
    public var events: [Event] { state.withLock { $0.events } }
    /// The writes in order, as (offset, length).
    public var writeLog: [(offset: UInt64, count: Int)] {
        events.compactMap { event in
            if case .write(let offset, let count) = event.operation { return (offset, count) }
            return nil
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BlockIOError) {
        try base.read(into: buffer, at: offset)
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BlockIOError) {
        let operation = Operation.write(offset: offset, count: bytes.count)
        guard let failure = decide(operation, byteCount: bytes.count) else {
            return try base.write(bytes, at: offset)
        }
        switch failure.tornWrite {
        case .none, .prefix(byteCount: 0), .suffix(byteCount: 0):
            break
        case .prefix(let count):
            try base.write(UnsafeRawBufferPointer(rebasing: bytes[..<count]), at: offset)
        case .suffix(let count):
            let start = bytes.count - count
            try base.write(UnsafeRawBufferPointer(rebasing: bytes[start...]), at: offset + UInt64(start))
        }
        throw failure.error(store: name, operation: "write")
    }

    public func flush() throws(BlockIOError) {
        try check(.flush)
        try base.flush()
    }

    public func resize(to newSize: UInt64) throws(BlockIOError) {
        try check(.resize(to: newSize))
        try base.resize(to: newSize)
    }

    public func discard(_ range: Range<UInt64>) throws(BlockIOError) {
        try check(.discard(range))
        try base.discard(range)
    }

    public func allocatedRanges(in range: Range<UInt64>) throws(BlockIOError) -> [Range<UInt64>] {
        try base.allocatedRanges(in: range)
    }

    /// Throws the injected fault if `operation` is to fail.
    private func check(_ operation: Operation) throws(BlockIOError) {
        if let failure = decide(operation, byteCount: 0) {
            throw failure.error(store: name, operation: "\(operation)")
        }
    }

    /// How a call fails: the index to report, the errno to fail with (nil: `.injectedFault`),
    /// and the part of a write to let through first.
    private struct Failure {
        var index: Int
        var errno: Int32?
        var tornWrite: TornWrite

        func error(store: String, operation: String) -> BlockIOError {
            guard let errno else { return .injectedFault(store: store, operation: operation, index: index) }
            return .system(call: operation, errno: errno, path: store)
        }
    }

    /// Counts and logs `operation`; returns nil to forward it, or how it fails (a torn write
    /// clamped to `byteCount`).
    private func decide(_ operation: Operation, byteCount: Int) -> Failure? {
        state.withLock { state in
            let kind = operation.kind
            let seen = state.counts[kind, default: 0]
            state.counts[kind] = seen + 1
            if state.hasCrashed {
                state.events.append(Event(operation: operation, outcome: .refused))
                return Failure(index: seen, errno: state.crashErrno, tornWrite: .none)
            }
            guard let fault = state.fault, fault.counting.contains(kind) else {
                state.events.append(Event(operation: operation, outcome: .forwarded))
                return nil
            }
            let index = state.countedSinceArmed
            state.countedSinceArmed += 1
            guard index == fault.index else {
                state.events.append(Event(operation: operation, outcome: .forwarded))
                return nil
            }
            let tornWrite = kind == .write ? fault.tornWrite.clamped(to: byteCount) : .none
            state.hasCrashed = fault.afterwards == .crash
            state.crashErrno = fault.errno
            state.events.append(Event(operation: operation, outcome: .faulted(writtenByteCount: tornWrite.byteCount)))
            return Failure(index: index, errno: fault.errno, tornWrite: tornWrite)
        }
    }
}
