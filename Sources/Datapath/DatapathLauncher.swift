import Foundation

/// Starts `sm-datapathd` detached from the caller (the SM process that attaches a VDI exits long
/// before the VM stops using it) and waits until it answers on its control socket.
public enum DatapathLauncher {
    /// glibc's `POSIX_SPAWN_SETSID` (`spawn.h`, a GNU extension Swift does not import): the
    /// child calls `setsid`, leaving the caller's session and process group, so a signal to the
    /// caller's terminal or group never reaches it.
    static let spawnSetSID: Int32 = 0x80

    /// Starts the daemon and returns its process id once it answers `status`.
    ///
    /// The daemon runs in a new session with standard input from `/dev/null` and standard output
    /// and error appended to `logPath`, its signal mask and dispositions reset, serving `exports`
    /// on `socketPath` with its control channel on `controlPath` and its pid in `pidFile`. It
    /// runs from `/` with no descriptor of the caller's but those three, so every path is made
    /// absolute first. It stays the caller's child: a caller that lives on past the daemon
    /// should reap it (`waitpid`); one that exits first leaves it to init.
    ///
    /// - Parameters:
    ///   - tcp: `[HOST:]PORT` to serve NBD on TCP as well (`--tcp`); port 0 picks a free one,
    ///     which `status` reports.
    ///   - startupTimeout: seconds to wait for the control socket to answer.
    /// - Throws: `.launchFailed` with the tail of the log when it cannot be spawned, exits, or
    ///   does not answer in time (it is then killed).
    public static func spawn(
        executable: String, socketPath: String, controlPath: String, pidFile: String, logPath: String,
        exports: [ExportSpec] = [], tcp: String? = nil, startupTimeout: Double = 5
    ) throws(DatapathError) -> pid_t {
        // The daemon runs from "/" (so it never pins the caller's working directory, an SR
        // mount perhaps), so every path it is given is made absolute here.
        var arguments = [
            executable, "--socket", absolute(socketPath), "--control", absolute(controlPath), "--pidfile",
            absolute(pidFile),
        ]
        if let tcp { arguments += ["--tcp", tcp] }
        for export in exports {
            arguments += [
                "--export",
                ExportSpec(name: export.name, path: absolute(export.path), readOnly: export.readOnly).description,
            ]
        }
        let pid = try posixSpawn(executable, arguments, logPath: logPath)
        let client = DatapathClient(controlPath: controlPath, connectTimeout: 0.5, replyTimeout: startupTimeout)
        let deadline = Date().addingTimeInterval(startupTimeout)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw .launchFailed(reason: "\(executable) exited (wait status \(status))", log: tail(of: logPath))
            }
            if let answered = try? client.status(), answered.pid == pid { return pid }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        throw .launchFailed(
            reason: "\(executable) did not answer on \(controlPath) within \(startupTimeout) s; killed",
            log: tail(of: logPath))
    }

    /// The process id in `pidFile` when that process is alive (not exited, not a zombie).
    public static func runningPID(pidFile: String) -> pid_t? {
        PIDFile(path: pidFile).livePID()
    }

    /// `posix_spawn` with a new session, default signals, an empty mask, and the standard
    /// descriptors redirected. The corresponding C function is `posix_spawn`.
    private static func posixSpawn(_ executable: String, _ arguments: [String], logPath: String) throws(DatapathError)
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
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
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

    /// `path` made absolute against the working directory.
    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// The last 4 KiB of the log, for an error message.
    static func tail(of path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "(no log at \(path))" }
        return String(decoding: data.suffix(4096), as: UTF8.self)
    }
}
