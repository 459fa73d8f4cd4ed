import Synchronization

/// The process's table of lock files it holds or is acquiring, keyed by path.
///
/// POSIX record locks belong to the process, not to a descriptor or a thread, and closing *any*
/// descriptor of a file drops every lock the process holds on it. So the process keeps exactly
/// one descriptor per held lock file, open until the last release, and counts re-entrant
/// acquisitions itself (as SM's per-process `Lock` instances do).
///
/// Locking: `states` (a `Mutex`) guards the table. Descriptors are opened, locked with
/// `F_SETLK` and closed only while the path is marked `.acquiring` by the one thread doing it,
/// or under the mutex, so no thread ever closes a descriptor while another holds the lock.
enum LockRegistry {
    enum State {
        /// One thread is opening and locking the file; others wait for it.
        case acquiring
        /// The process holds the lock through `descriptor`, `count` times.
        case held(descriptor: Int32, count: Int, mode: LockFile.Mode)
    }

    static let states = Mutex<[String: State]>([:])
}
