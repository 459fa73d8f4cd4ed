import Glibc

/// A process that outlives its starter: the datapath daemon, which serves a VDI long after the
/// SM call that attached it exited, and SM's upkeep after a reply.
public enum DetachedProcess {
    /// Starts `executable` with `arguments` (argv, its name first) detached (`ChildProcess`:
    /// a new session, default signals, no descriptor of the caller's, `/` as working
    /// directory), standard output and error appended to `logPath` (created owner-only).
    public static func spawn(_ executable: String, arguments: [String], logPath: String) throws(SpawnError) -> pid_t {
        let log = try openLog(logPath)
        defer { close(log) }
        return try ChildProcess(executable: executable, arguments: arguments, output: .descriptor(log), detached: true)
            .spawn()
    }

    /// Opens (creating) the log for appending, close-on-exec, at a descriptor above standard
    /// error so the child's `dup2` onto 1 always clears close-on-exec. The log may hold paths
    /// and errors of VDIs, so a regular file this user owns is made 0600: the caller opens it
    /// rather than the child because the child cannot `fchmod` between its file actions.
    /// The corresponding C functions are `open`, `fcntl` (`F_DUPFD_CLOEXEC`), `fstat` and `fchmod`.
    static func openLog(_ path: String) throws(SpawnError) -> Int32 {
        var opened: Int32
        repeat {
            opened = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        } while opened < 0 && errno == EINTR
        guard opened >= 0 else { throw .system(call: "open", errno: errno, path: path) }
        var descriptor = opened
        if opened <= 2 {
            descriptor = fcntl(opened, F_DUPFD_CLOEXEC, 3)
            let dupErrno = errno
            close(opened)
            guard descriptor >= 0 else { throw .system(call: "fcntl", errno: dupErrno, path: path) }
        }
        var info = stat()
        if fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(),
            info.st_mode & 0o7777 != 0o600, fchmod(descriptor, 0o600) != 0
        {
            let chmodErrno = errno
            close(descriptor)
            throw .system(call: "fchmod", errno: chmodErrno, path: path)
        }
        return descriptor
    }
}
