import Datapath
import Glibc
import SM

/// A VDI's datapath daemon that has just answered `status` as the process its pid file names,
/// and a client for it whose every call is bounded by the backend's timeout. Failures become
/// `SRError`s naming the VDI, the daemon's pid and what failed or timed out.
struct LiveDaemon {
    let vdiUUID: String
    let pid: pid_t
    let client: DatapathClient

    /// Checks that the daemon of `files` is running and answers as itself within `timeout`.
    ///
    /// - Throws: `TapdiskFailed` when it is not running, does not answer in time, or another
    ///   process answers on its control socket.
    init(_ files: DatapathFiles, vdiUUID: String, timeout: Double) throws(SRError) {
        guard let pid = DatapathLauncher.runningPID(pidFile: files.pidFile) else {
            throw SRError(
                .tapdiskFailed,
                opterr: "the datapath daemon of VDI \(vdiUUID) is not running (log: \(files.log)); "
                    + "detach and attach the VDI again")
        }
        self.vdiUUID = vdiUUID
        self.pid = pid
        client = DatapathClient(controlPath: files.control, timeout: timeout)
        let status = try call("reach VDI \(vdiUUID)") { (client) throws(DatapathError) in try client.status() }
        guard status.pid == pid else {
            throw SRError(.tapdiskFailed, opterr: "\(files.control) is answered by process \(status.pid), not \(pid)")
        }
    }

    /// Runs one control call for `action` ("pause VDI …"). A refusal (the daemon is healthy,
    /// the request is not) is reported as `refusal`; anything else (unreachable, timed out,
    /// garbled) as `TapdiskFailed`.
    func call<T>(
        _ action: String, refusal: SRErrorCode = .tapdiskFailed,
        _ body: (DatapathClient) throws(DatapathError) -> T
    ) throws(SRError) -> T {
        do { return try body(client) } catch {
            let code: SRErrorCode
            switch error {
            case .refused, .openFailed: code = refusal
            default: code = .tapdiskFailed
            }
            throw SRError(code, opterr: "cannot \(action) (datapath daemon pid \(pid)): \(error)")
        }
    }
}
