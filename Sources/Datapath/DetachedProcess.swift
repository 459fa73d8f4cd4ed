import Glibc

/// A process that outlives its starter: the datapath daemon, which serves a VDI long after the
/// SM call that attached it exited, and SM's upkeep after a reply.
public enum DetachedProcess {
    /// glibc's `POSIX_SPAWN_SETSID` (`spawn.h`, a GNU extension Swift does not import): the
    /// child calls `setsid`, leaving the caller's session and process group, so a signal to the
    /// caller's terminal or group never reaches it.
    static let spawnSetSID: Int32 = 0x80

    /// Starts `executable` with `arguments` (argv, its name first) in a new session, with
    /// default signals, an empty signal mask, standard input from /dev/null, standard output
    /// and error appended to `logPath` (mode 0600, whatever the umask), no other descriptor of
    /// the caller's, and `/` as its working directory. The corresponding C function is
    /// `posix_spawn`.
    public static func spawn(_ executable: String, arguments: [String], logPath: String) throws(DatapathError)
        -> pid_t
    {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        let flags = spawnSetSID | Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // A log kept from an earlier daemon may have a looser mode than a new one gets.
        chmod(logPath, 0o600)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of the caller's is inherited: an SM lock file's descriptor held by a
        // long-lived daemon would hold its lock for as long as the daemon lives.
        if let closeFrom = GNUSpawnActions.closeFrom { _ = closeFrom(&actions, 3) }
        if let changeDirectory = GNUSpawnActions.changeDirectory { _ = changeDirectory(&actions, "/") }

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw .launchFailed(
                reason: "posix_spawn \(executable): \(String(cString: strerror(result))) (errno \(result))", log: "")
        }
        return pid
    }
}
