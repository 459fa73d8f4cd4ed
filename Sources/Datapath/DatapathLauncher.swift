import Foundation
import Processes

/// Starts `sm-datapathd` detached from the caller (the SM process that attaches a VDI exits long
/// before the VM stops using it) and waits until it answers on its control socket.
public enum DatapathLauncher {
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
    ///   - srDescriptor: the SR descriptor file the daemon opens its exports through (`--sr`).
    ///   - tcp: `[HOST:]PORT` to serve NBD on TCP as well (`--tcp`); port 0 picks a free one,
    ///     which `status` reports.
    ///   - startupTimeout: seconds to wait for the control socket to answer.
    /// - Throws: `.launchFailed` with the tail of the log when it cannot be spawned, exits, or
    ///   does not answer in time (it is then killed).
    public static func spawn(
        executable: String, socketPath: String, controlPath: String, pidFile: String, logPath: String,
        exports: [ExportSpec] = [], srDescriptor: String? = nil, tcp: String? = nil, startupTimeout: Double = 5
    ) throws(DatapathError) -> pid_t {
        // The daemon runs from "/" (so it never pins the caller's working directory, an SR
        // mount perhaps), so every path it is given is made absolute here.
        var arguments = [
            executable, "--socket", absolute(socketPath), "--control", absolute(controlPath), "--pidfile",
            absolute(pidFile),
        ]
        if let srDescriptor { arguments += ["--sr", absolute(srDescriptor)] }
        if let tcp { arguments += ["--tcp", tcp] }
        for export in exports {
            // With --sr an export names a volume, which stays as it is.
            let leaf = srDescriptor == nil ? absolute(export.path) : export.path
            arguments += ["--export", ExportSpec(name: export.name, path: leaf, readOnly: export.readOnly).description]
        }
        let pid: pid_t
        do { pid = try DetachedProcess.spawn(executable, arguments: arguments, logPath: logPath) } catch {
            throw .launchFailed(reason: error.description, log: "")
        }
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
