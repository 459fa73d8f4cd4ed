import Datapath
import Glibc
import SM

/// The NBD datapath behind the `BlockBackend` seam, as blktap2's tapdisk is in the reference:
/// `attach` starts one `sm-datapathd` for the VDI (listening, serving nothing yet) and answers
/// its NBD URI; `activate` opens the VDI's chain in it (read-only or read-write); `pause` holds
/// its I/O while SM changes the chain, `unpause` re-opens the chain from the leaf's path (a
/// snapshot or revert put a new file there); `deactivate` closes the export; `detach` stops the
/// daemon. Reference counts are the path backend's, in the host's refcount directory.
///
/// A daemon that died is reported (`TapdiskFailed`, 453) by every call that needs it, never
/// replaced behind the consumer's back; detaching the VDI clears it, and the next attach
/// starts a new one.
public struct NBDBlockBackend: BlockBackend {
    public let paths: HostPaths
    /// The daemon's executable; nil when none was found (attach then fails with the reason).
    public let executable: String?
    private let counts: PathBlockBackend

    public init(paths: HostPaths, executable: String? = DatapathExecutable.locate()) {
        self.paths = paths
        self.executable = executable
        counts = PathBlockBackend(refcounts: paths.refcounts)
    }

    public var canPause: Bool { true }

    /// The daemon files of VDI `vdiUUID` on this host.
    public func files(for vdiUUID: String) -> DatapathFiles {
        DatapathFiles(directory: paths.datapathDirectory, vdiUUID: vdiUUID)
    }

    public func attach(_ vdi: BackendVDI, writable: Bool) throws(SRError) -> AttachInfo {
        let files = files(for: vdi.uuid)
        let wasAttached = try counts.state(srUUID: vdi.srUUID, vdiUUID: vdi.uuid).attached
        var info = try counts.attach(vdi, writable: writable)
        if wasAttached {
            _ = try liveClient(files, vdi.uuid)
        } else {
            do {
                stopDaemon(files)
                try startDaemon(files, srUUID: vdi.srUUID)
            } catch {
                try? counts.detach(vdi)
                throw error
            }
        }
        // There is no block device: the consumer connects to the daemon.
        info.params = files.uri
        info.paramsNBD = files.uri
        return info
    }

    public func activate(_ vdi: BackendVDI, writable: Bool) throws(SRError) {
        let state = try counts.state(srUUID: vdi.srUUID, vdiUUID: vdi.uuid)
        guard state.attached else {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdi.uuid) is not attached on this host")
        }
        if writable, state.isActive, !state.activeReadWrite {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdi.uuid) is active read-only here; deactivate it first")
        }
        let files = files(for: vdi.uuid)
        let client = try liveClient(files, vdi.uuid)
        if !state.isActive {
            let path = try leafPath(vdi)
            do { _ = try client.open(export: vdi.uuid, path: path, readOnly: !writable) } catch {
                throw SRError(.vdiUnavailable, opterr: "cannot serve VDI \(vdi.uuid) from \(path): \(error)")
            }
        }
        do { try counts.activate(vdi, writable: writable) } catch {
            if !state.isActive { try? client.close(export: vdi.uuid) }
            throw error
        }
    }

    /// Holds the VDI's I/O: returns once every request in flight has completed and the chain
    /// is flushed; requests arriving meanwhile wait in the daemon.
    public func pause(_ vdi: BackendVDI) throws(SRError) {
        let client = try liveClient(files(for: vdi.uuid), vdi.uuid)
        do { _ = try client.pause(export: vdi.uuid) } catch {
            throw SRError(.tapdiskFailed, opterr: "cannot pause VDI \(vdi.uuid): \(error)")
        }
        try counts.pause(vdi)
    }

    /// Re-opens the VDI's chain from its leaf (which a snapshot or revert replaced) and lets
    /// the held requests through.
    public func unpause(_ vdi: BackendVDI) throws(SRError) {
        let client = try liveClient(files(for: vdi.uuid), vdi.uuid)
        let path = try leafPath(vdi)
        do { _ = try client.unpause(export: vdi.uuid, path: path) } catch {
            throw SRError(.tapdiskFailed, opterr: "cannot resume VDI \(vdi.uuid) on \(path): \(error)")
        }
        try counts.unpause(vdi)
    }

    /// Ends one activation; the last one closes the export (flushing it). A daemon that died
    /// has nothing left to close, so deactivation still succeeds and detach can clean up.
    public func deactivate(_ vdi: BackendVDI) throws(SRError) {
        guard try counts.state(srUUID: vdi.srUUID, vdiUUID: vdi.uuid).isActive else { return }
        try counts.deactivate(vdi)
        guard !(try counts.state(srUUID: vdi.srUUID, vdiUUID: vdi.uuid).isActive) else { return }
        guard let client = try? liveClient(files(for: vdi.uuid), vdi.uuid) else { return }
        do { try client.close(export: vdi.uuid) } catch {
            throw SRError(.tapdiskFailed, opterr: "cannot close VDI \(vdi.uuid)'s export: \(error)")
        }
    }

    /// Stops the VDI's daemon (deactivating first, as blktap2 does) and forgets its counts.
    public func detach(_ vdi: BackendVDI) throws(SRError) {
        stopDaemon(files(for: vdi.uuid))
        try counts.detach(vdi)
    }

    public func state(srUUID: String, vdiUUID: String) throws(SRError) -> BackendState {
        try counts.state(srUUID: srUUID, vdiUUID: vdiUUID)
    }

    /// Stops every daemon of the SR (left from before a reboot or a crash) and forgets its counts.
    public func reset(srUUID: String) throws(SRError) {
        for files in DatapathFiles.all(in: paths.datapathDirectory, srUUID: srUUID) { stopDaemon(files) }
        try counts.reset(srUUID: srUUID)
    }

    /// The I/O counters of VDI `vdiUUID`'s export (`sm vdi-stats`).
    public func statistics(vdiUUID: String) throws(SRError) -> ExportStatistics {
        let client = try liveClient(files(for: vdiUUID), vdiUUID)
        let all: [String: ExportStatistics]
        do { all = try client.statistics(export: vdiUUID) } catch {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdiUUID) is not active on this host: \(error)")
        }
        guard let statistics = all[vdiUUID] else {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdiUUID) is not active on this host")
        }
        return statistics
    }

    // MARK: - The daemon

    /// A client of the VDI's daemon after checking that it is alive and answers as itself.
    func liveClient(_ files: DatapathFiles, _ vdiUUID: String) throws(SRError) -> DatapathClient {
        guard let pid = DatapathLauncher.runningPID(pidFile: files.pidFile) else {
            throw SRError(
                .tapdiskFailed,
                opterr: "the datapath daemon of VDI \(vdiUUID) is not running (log: \(files.log)); detach and attach the VDI again")
        }
        let client = DatapathClient(controlPath: files.control)
        do {
            let status = try client.status()
            guard status.pid == pid else {
                throw SRError(.tapdiskFailed, opterr: "\(files.control) is answered by process \(status.pid), not \(pid)")
            }
        } catch let error as SRError {
            throw error
        } catch {
            throw SRError(.tapdiskFailed, opterr: "the datapath daemon of VDI \(vdiUUID) (pid \(pid)) does not answer: \(error)")
        }
        return client
    }

    func startDaemon(_ files: DatapathFiles, srUUID: String) throws(SRError) {
        guard let executable else {
            throw SRError(
                .tapdiskFailed, opterr: "\(DatapathExecutable.name) not found: install it beside sm or set SM_DATAPATHD")
        }
        guard Self.makeDirectory(files.directory), TextFile.write(srUUID, to: files.srFile) else {
            throw SRError(.tapdiskFailed, opterr: "cannot write in \(files.directory): \(String(cString: strerror(errno)))")
        }
        do {
            _ = try DatapathLauncher.spawn(
                executable: executable, socketPath: files.socket, controlPath: files.control, pidFile: files.pidFile,
                logPath: files.log)
        } catch {
            unlink(files.srFile)
            throw SRError(.tapdiskFailed, opterr: "\(error)")
        }
    }

    /// Asks the daemon to shut down (it flushes and closes every export), waits up to
    /// `grace` seconds, then kills it; removes its files but the log. Nothing to do for a
    /// daemon that is not running.
    func stopDaemon(_ files: DatapathFiles, grace: Double = 10) {
        if let pid = DatapathLauncher.runningPID(pidFile: files.pidFile) {
            try? DatapathClient(controlPath: files.control, connectTimeout: 1, replyTimeout: grace).shutdown()
            var waited = 0.0
            while DatapathLauncher.runningPID(pidFile: files.pidFile) == pid, waited < grace {
                Self.reap(pid)
                usleep(10_000)
                waited += 0.01
            }
            if DatapathLauncher.runningPID(pidFile: files.pidFile) == pid { kill(pid, SIGKILL) }
            Self.reap(pid)
        }
        for file in files.runtimeFiles { unlink(file) }
    }

    /// Collects the daemon's exit status when this process started it (tests, the CLI), so it
    /// does not linger as a zombie; for any other process it does nothing.
    static func reap(_ pid: pid_t) {
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }

    static func makeDirectory(_ path: String) -> Bool {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0, errno != EEXIST { return false }
        }
        return true
    }

    func leafPath(_ vdi: BackendVDI) throws(SRError) -> String {
        guard let path = vdi.container.hostPath(of: vdi.volume) else {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdi.uuid) has no path on this host")
        }
        return path
    }
}
