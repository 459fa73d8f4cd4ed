import Glibc

/// One lock file, locked with POSIX `fcntl` record locks as SM's `flock.py` does, so it
/// excludes SM's Python tools and any other process that locks the same file the same way
/// (it does not interact with `flock(2)`).
///
/// Acquisition is re-entrant within a process: the second `acquire` of a held lock only counts,
/// and the lock is released by the matching last `release`. Threads of one process therefore
/// share the lock; it excludes other processes, not other threads.
///
/// ```swift
/// let sr = try LockDirectory().srLock(srUUID: uuid)
/// try sr.withLock(timeout: .seconds(20)) { () throws(SRError) in try engine.snapshot(vdi) }
/// ```
public struct LockFile: Hashable, Sendable {
    /// How the file is locked.
    public enum Mode: Hashable, Sendable {
        /// A write lock (`F_WRLCK`): no other process holds the file in any mode.
        case exclusive
        /// A read lock (`F_RDLCK`): other processes may hold it shared, none exclusive.
        case shared

        var fcntlType: Int16 { self == .exclusive ? Int16(F_WRLCK) : Int16(F_RDLCK) }
    }

    /// The lock file's path, `<base>/<namespace>/<name>`.
    public let path: String

    init(path: String) {
        self.path = path
    }

    /// Whether this process holds the lock.
    public var isHeld: Bool { holdCount > 0 }

    /// How many times this process has acquired the lock without releasing it.
    public var holdCount: Int {
        LockRegistry.states.withLock { states in
            if case .held(_, let count, _)? = states[path] { return count }
            return 0
        }
    }

    /// Whether another process holds the lock now (`F_GETLK`), without taking it; false while
    /// this process holds it or is taking it. The query runs under the registry's mutex: the
    /// descriptor it opens and closes must never be one whose closing drops a lock we hold.
    public var isHeldByAnotherProcess: Bool {
        LockRegistry.states.withLock { states in
            guard states[path] == nil else { return false }
            let descriptor = Glibc.open(path, O_RDWR | O_CLOEXEC)
            guard descriptor >= 0 else { return false }
            defer { SystemCall.close(descriptor) }
            var request = flock()
            request.l_type = Int16(F_WRLCK)
            request.l_whence = Int16(SEEK_SET)
            guard fcntl(descriptor, F_GETLK, &request) == 0 else { return false }
            return request.l_type != Int16(F_UNLCK)
        }
    }

    /// Takes the lock if no other process holds it, without waiting.
    ///
    /// - Returns: Whether the lock is now held (counted again when it already was).
    /// - Throws: `SRError(.lockErr)` when the file cannot be created or locked for a reason
    ///   other than contention, or `mode` is `.exclusive` while this process holds it shared.
    public func tryAcquire(_ mode: Mode = .exclusive) throws(SRError) -> Bool {
        try attempt(mode, waiting: false) == .acquired
    }

    /// Takes the lock, waiting while another process holds it.
    ///
    /// - Parameters:
    ///   - mode: Exclusive (`F_WRLCK`) or shared (`F_RDLCK`).
    ///   - timeout: How long to wait; `nil` waits indefinitely in `F_SETLKW`. With a timeout
    ///     the lock is polled with `F_SETLK`, backing off from 1 ms to 50 ms between tries.
    /// - Throws: `SRError(.lockErr)` on timeout, on a deadlock the kernel detects (`EDEADLK`),
    ///   on a file that cannot be created, or when `mode` is `.exclusive` while this process
    ///   holds the lock shared (an upgrade could deadlock two upgraders).
    public func acquire(_ mode: Mode = .exclusive, timeout: Duration? = nil) throws(SRError) {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now.advanced(by: $0) }
        var pause = Duration.milliseconds(1)
        while true {
            if try attempt(mode, waiting: deadline == nil) == .acquired { return }
            if let deadline {
                let now = clock.now
                guard now < deadline else {
                    let waited = timeout.map { "\($0)" } ?? ""
                    throw SRError(.lockErr, opterr: "timed out after \(waited) waiting for lock \(path)")
                }
                SystemCall.sleep(min(pause, now.duration(to: deadline)))
            } else {
                SystemCall.sleep(pause)
            }
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    /// Gives up one acquisition; the last one unlocks the file and closes its descriptor.
    /// The file stays in place (SM leaves lock files; `LockDirectory.cleanup` removes them).
    ///
    /// - Throws: `SRError(.lockErr)` when this process does not hold the lock.
    public func release() throws(SRError) {
        let released: Bool = LockRegistry.states.withLock { states in
            guard case .held(let descriptor, let count, let mode)? = states[path] else { return false }
            if count > 1 {
                states[path] = .held(descriptor: descriptor, count: count - 1, mode: mode)
            } else {
                // Unlock and close under the mutex, so no other thread can lock the file through
                // a new descriptor before this one is closed (a close would drop that lock too).
                var request = flock()
                request.l_type = Int16(F_UNLCK)
                request.l_whence = Int16(SEEK_SET)
                _ = fcntl(descriptor, F_SETLK, &request)
                SystemCall.close(descriptor)
                states[path] = nil
            }
            return true
        }
        guard released else { throw SRError(.lockErr, opterr: "lock \(path) is not held by this process") }
    }

    /// Runs `body` holding the lock, and releases it however `body` ends.
    ///
    /// - Throws: The acquisition's error, else `body`'s, else the release's.
    public func withLock<T>(
        _ mode: Mode = .exclusive, timeout: Duration? = nil, _ body: () throws(SRError) -> T
    ) throws(SRError) -> T {
        try acquire(mode, timeout: timeout)
        let result: T
        do {
            result = try body()
        } catch {
            try? release()
            throw error
        }
        try release()
        return result
    }

    private enum Outcome { case acquired, busy }

    private enum Step {
        case counted
        case refusedUpgrade
        case busyInProcess
        case mustLock
    }

    /// One try: count a lock this process holds, or open the file and lock it
    /// (`F_SETLKW` when `waiting`, else `F_SETLK`).
    private func attempt(_ mode: Mode, waiting: Bool) throws(SRError) -> Outcome {
        let step: Step = LockRegistry.states.withLock { states in
            switch states[path] {
            case .held(let descriptor, let count, let heldMode)?:
                if mode == .exclusive && heldMode == .shared { return .refusedUpgrade }
                states[path] = .held(descriptor: descriptor, count: count + 1, mode: heldMode)
                return .counted
            case .acquiring?:
                return .busyInProcess
            case nil:
                states[path] = .acquiring
                return .mustLock
            }
        }
        switch step {
        case .counted: return .acquired
        case .busyInProcess: return .busy
        case .refusedUpgrade:
            throw SRError(.lockErr, opterr: "lock \(path) is held shared by this process; it cannot be upgraded")
        case .mustLock:
            do {
                let descriptor = try lockDescriptor(mode, waiting: waiting)
                LockRegistry.states.withLock { states in
                    if let descriptor {
                        states[path] = .held(descriptor: descriptor, count: 1, mode: mode)
                    } else {
                        states[path] = nil
                    }
                }
                return descriptor == nil ? .busy : .acquired
            } catch {
                LockRegistry.states.withLock { $0[path] = nil }
                throw error
            }
        }
    }

    /// Opens (creating) the file and locks it: the descriptor, or nil when another process
    /// holds a conflicting lock. Called only by the thread that marked the path `.acquiring`.
    /// The corresponding C functions are `open` and `fcntl` (`F_SETLK`, `F_SETLKW`).
    private func lockDescriptor(_ mode: Mode, waiting: Bool) throws(SRError) -> Int32? {
        try SystemCall.makeDirectories(DurableFile.parent(of: path), code: .lockErr)
        let descriptor = try SystemCall.open(path, flags: O_RDWR | O_CREAT, code: .lockErr)
        var request = flock()
        request.l_type = mode.fcntlType
        request.l_whence = Int16(SEEK_SET)
        request.l_start = 0
        request.l_len = 0
        while true {
            if fcntl(descriptor, waiting ? F_SETLKW : F_SETLK, &request) == 0 { return descriptor }
            let failure = errno
            if failure == EINTR { continue }
            SystemCall.close(descriptor)
            if failure == EAGAIN || failure == EACCES { return nil }
            throw SystemCall.error(
                waiting ? "fcntl(F_SETLKW)" : "fcntl(F_SETLK)", path: path, errno: failure, code: .lockErr)
        }
    }
}
