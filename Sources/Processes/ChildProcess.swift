import Glibc

/// How to start a child with `posix_spawn`: what its standard streams are, and whether it
/// leaves its starter's session. The one spawner of the project: `ExternalCommand` (SM's tools,
/// output collected) and `DetachedProcess` (the datapath daemon and the after-reply upkeep)
/// are both made of it.
public struct ChildProcess: Sendable {
    /// Where the child's standard output and error go.
    public enum Output: Sendable, Equatable {
        /// Both to this descriptor (a pipe's write end, a log), which the caller owns.
        case descriptor(Int32)
    }

    /// The executable's absolute path.
    public var executable: String
    /// argv, the program's name first.
    public var arguments: [String]
    public var output: Output
    /// A new session, default signals and an empty signal mask, no descriptor of the caller's
    /// but the three standard ones, and `/` as working directory: a process that outlives its
    /// starter and must hold nothing of it (an SM lock file's descriptor held by a long-lived
    /// daemon would hold the lock for as long as it lives; a working directory would pin a mount).
    public var detached: Bool

    public init(executable: String, arguments: [String], output: Output, detached: Bool) {
        self.executable = executable
        self.arguments = arguments
        self.output = output
        self.detached = detached
    }

    /// glibc's `POSIX_SPAWN_SETSID` (`spawn.h`, a GNU extension Swift does not import): the
    /// child calls `setsid`, leaving the caller's session and process group, so a signal to the
    /// caller's terminal or group never reaches it.
    static let spawnSetSID: Int32 = 0x80

    /// Starts the child, standard input from `/dev/null`, with the caller's environment. The
    /// corresponding C function is `posix_spawn`.
    public func spawn() throws(SpawnError) -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        switch output {
        case .descriptor(let descriptor):
            posix_spawn_file_actions_adddup2(&actions, descriptor, 1)
            posix_spawn_file_actions_adddup2(&actions, descriptor, 2)
        }
        if detached {
            let flags = Self.spawnSetSID | Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)
            posix_spawnattr_setflags(&attributes, Int16(flags))
            var mask = sigset_t()
            sigemptyset(&mask)
            posix_spawnattr_setsigmask(&attributes, &mask)
            var defaults = sigset_t()
            sigemptyset(&defaults)
            for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
            posix_spawnattr_setsigdefault(&attributes, &defaults)
            if let closeFrom = GNUSpawnActions.closeFrom { _ = closeFrom(&actions, 3) }
            if let changeDirectory = GNUSpawnActions.changeDirectory { _ = changeDirectory(&actions, "/") }
        }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else { throw .spawn(executable: executable, errno: result) }
        return pid
    }

    /// Waits for `pid` to exit: its exit status, 128 + the signal number when a signal ended
    /// it, 127 when it cannot be waited for. The corresponding C function is `waitpid`.
    public static func wait(for pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            if errno != EINTR { return 127 }
        }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}
