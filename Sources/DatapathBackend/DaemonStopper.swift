import Datapath
import Glibc

/// Stops one VDI's datapath daemon in bounded time, whatever state it is in, and removes its
/// files but the log: asked over the control channel first (it flushes and closes every
/// export), then `SIGTERM`, then `SIGKILL`, each stage given `timeout` seconds.
///
/// A pid is signalled only when it is this VDI's daemon (its command line names the control
/// socket, or it answers on it as that pid): a daemon that died long ago may have left a pid
/// file naming a process that reused its pid.
struct DaemonStopper {
    let files: DatapathFiles
    let timeout: Double

    /// How the daemon went.
    enum Outcome: Equatable {
        /// No daemon of this VDI was running.
        case notRunning
        /// It shut down when asked.
        case shutDown
        /// It did not answer or did not finish, and exited on `SIGTERM`.
        case terminated
        /// It was killed.
        case killed
    }

    @discardableResult
    func stop() -> Outcome {
        defer { for file in files.runtimeFiles { unlink(file) } }
        guard let pid = DatapathLauncher.runningPID(pidFile: files.pidFile), isDaemon(pid) else { return .notRunning }
        if (try? DatapathClient(controlPath: files.control, timeout: timeout).shutdown()) != nil, waitForExit(pid) {
            return .shutDown
        }
        // A stopped daemon (SIGSTOP) acts on SIGTERM only once continued, and then shuts down
        // cleanly, flushing; one frozen for good gets SIGKILL, which needs no cooperation.
        kill(pid, SIGTERM)
        kill(pid, SIGCONT)
        if waitForExit(pid) { return .terminated }
        if isDaemon(pid) { kill(pid, SIGKILL) }
        _ = waitForExit(pid)
        TextFile.append(
            "sm[\(getpid())]: killed sm-datapathd \(pid): it did not stop within \(timeout) s of a shutdown request "
                + "and \(timeout) s of SIGTERM", to: files.log)
        return .killed
    }

    /// Waits up to `timeout` seconds for `pid` to exit; whether it did.
    private func waitForExit(_ pid: pid_t) -> Bool {
        let deadline = Self.now() + timeout
        while DatapathLauncher.runningPID(pidFile: files.pidFile) == pid {
            Self.reap(pid)
            guard Self.now() < deadline else { return false }
            usleep(10_000)
        }
        Self.reap(pid)
        return true
    }

    /// Whether process `pid` is the daemon serving `files`: its command line says so, or it
    /// answers on the control socket as `pid` (a daemon started under another name).
    func isDaemon(_ pid: pid_t) -> Bool {
        if let file = fopen("/proc/\(pid)/cmdline", "r") {
            defer { fclose(file) }
            var bytes = [UInt8](repeating: 0, count: 8192)
            let count = fread(&bytes, 1, bytes.count, file)
            let arguments = bytes[..<count].split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if arguments.first?.hasSuffix(DatapathExecutable.name) == true && arguments.contains(files.control) {
                return true
            }
        }
        let status = try? DatapathClient(controlPath: files.control, timeout: timeout).status()
        return status?.pid == pid
    }

    /// Collects the daemon's exit status when this process started it (tests, the CLI), so it
    /// does not linger as a zombie; for any other process it does nothing.
    static func reap(_ pid: pid_t) {
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }

    /// Seconds on the monotonic clock.
    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
