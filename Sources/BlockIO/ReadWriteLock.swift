import Glibc

/// A reader-writer lock: many holders share it, or one holds it exclusively.
///
/// The corresponding C functions are `pthread_rwlock_rdlock`, `pthread_rwlock_wrlock` and
/// `pthread_rwlock_unlock`. The lock lives at a fixed heap address, as pthreads requires.
/// It is not recursive: a holder must not take it again.
///
/// Writers are preferred (`PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP`): glibc's default
/// lets a steady stream of overlapping readers (NBD reads from several connections) keep a
/// writer waiting indefinitely.
public final class ReadWriteLock: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    public init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        defer { pthread_rwlockattr_destroy(&attributes) }
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        let result = pthread_rwlock_init(lock, &attributes)
        precondition(result == 0, "pthread_rwlock_init failed with \(result)")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deinitialize(count: 1)
        lock.deallocate()
    }

    /// Runs `body` holding the lock shared (`exclusive` false) or exclusively.
    public func withLock<Result, Failure: Error>(
        exclusive: Bool,
        _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let result = exclusive ? pthread_rwlock_wrlock(lock) : pthread_rwlock_rdlock(lock)
        precondition(result == 0, "pthread_rwlock lock failed with \(result)")
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
