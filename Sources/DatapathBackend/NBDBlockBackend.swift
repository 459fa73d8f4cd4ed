import Datapath
import Glibc
import SM

/// The NBD datapath behind the `BlockBackend` seam, as blktap2's tapdisk is in the reference:
/// `attach` starts one `sm-datapathd` for the VDI (listening, serving nothing yet), handed the
/// SR's descriptor as a 0600 file (`--sr`), and answers its NBD URI; `activate` has it open the
/// VDI's leaf volume and chain through the SR's driver and container (read-only or read-write);
/// `pause` holds its I/O while SM changes the chain, `unpause` re-opens the chain from the leaf
/// volume (a snapshot or revert put a new one under its name); `deactivate` closes the export;
/// `detach` stops the daemon. Reference counts are the path backend's, in the host's refcount
/// directory.
///
/// A daemon that died, or does not answer within `timeout` (stopped, wedged), is reported
/// (`TapdiskFailed`, 453) by every call that needs it, never replaced behind the consumer's
/// back; detaching the VDI stops it (killing it if it must) and clears it, and the next attach
/// starts a new one.
public struct NBDBlockBackend: BlockBackend {
    public let paths: HostPaths
    /// The daemon's executable; nil when none was found (attach then fails with the reason).
    public let executable: String?
    /// Seconds every call into a daemon may take (each of connecting and answering), and each
    /// stage of stopping one (`DatapathTimeout`).
    public let timeout: Double
    private let counts: PathBlockBackend

    public init(
        paths: HostPaths, executable: String? = DatapathExecutable.locate(),
        timeout: Double = DatapathTimeout.seconds()
    ) {
        self.paths = paths
        self.executable = executable
        self.timeout = timeout
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
            _ = try liveDaemon(files, vdi.uuid)
        } else {
            do {
                stopDaemon(files)
                try startDaemon(files, descriptor: try descriptor(of: vdi))
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
        if writable, vdi.record.readOnly || vdi.record.hidden {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdi.uuid) is read-only")
        }
        // One export per VDI, opened in one mode: read-write for one consumer, or read-only
        // for any number of them.
        if state.activeReadWrite {
            guard writable else {
                throw SRError(.vdiUnavailable, opterr: "VDI \(vdi.uuid) is active read-write here; deactivate it first")
            }
            return
        }
        if writable, state.isActive {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdi.uuid) is active read-only here; deactivate it first")
        }
        let daemon = try liveDaemon(files(for: vdi.uuid), vdi.uuid)
        if !state.isActive {
            let volume = vdi.volume
            _ = try daemon.call("serve VDI \(vdi.uuid) from \(volume)", refusal: .vdiUnavailable) {
                (client) throws(DatapathError) in try client.open(export: vdi.uuid, path: volume, readOnly: !writable)
            }
        }
        do { try counts.activate(vdi, writable: writable) } catch {
            if !state.isActive { try? daemon.client.close(export: vdi.uuid) }
            throw error
        }
    }

    /// Holds the VDI's I/O: returns once every request in flight has completed and the chain
    /// is flushed; requests arriving meanwhile wait in the daemon. The pause is recorded before
    /// it is asked for, so a process that dies from here on leaves a mark that the next
    /// operation on the SR finds and resumes.
    public func pause(_ vdi: BackendVDI) throws(SRError) {
        try counts.pause(vdi)
        do throws(SRError) {
            let daemon = try liveDaemon(files(for: vdi.uuid), vdi.uuid)
            do {
                _ = try daemon.call("pause VDI \(vdi.uuid)") { (client) throws(DatapathError) in
                    try client.pause(export: vdi.uuid)
                }
            } catch {
                // The daemon may finish pausing after the client gave up waiting.
                _ = try? daemon.client.unpause(export: vdi.uuid)
                throw error
            }
        } catch {
            try? counts.unpause(vdi)
            throw error
        }
    }

    /// Re-opens the VDI's chain from its leaf (which a snapshot or revert replaced) and lets
    /// the held requests through; then clears the pause mark. Resuming a VDI that is not
    /// paused does nothing.
    public func unpause(_ vdi: BackendVDI) throws(SRError) {
        let daemon = try liveDaemon(files(for: vdi.uuid), vdi.uuid)
        let volume = vdi.volume
        _ = try daemon.call("resume VDI \(vdi.uuid) on \(volume)") { (client) throws(DatapathError) in
            try client.unpause(export: vdi.uuid, path: volume)
        }
        try counts.unpause(vdi)
    }

    /// Ends one activation; the last one first closes the export (flushing it), so no count
    /// ever says inactive while the daemon still serves the VDI. A daemon that died, or does
    /// not answer in time, has nothing it can close, so deactivation still succeeds and detach
    /// can stop it.
    public func deactivate(_ vdi: BackendVDI) throws(SRError) {
        let state = try counts.state(srUUID: vdi.srUUID, vdiUUID: vdi.uuid)
        guard state.isActive else { return }
        let isLast = state.activeReadWrite || state.activeReadOnly == 1
        if isLast, let daemon = try? liveDaemon(files(for: vdi.uuid), vdi.uuid) {
            try daemon.call("close VDI \(vdi.uuid)'s export") { (client) throws(DatapathError) in
                try client.close(export: vdi.uuid)
            }
        }
        try counts.deactivate(vdi)
    }

    /// Stops the VDI's daemon (deactivating first, as blktap2 does) and forgets its counts.
    public func detach(_ vdi: BackendVDI) throws(SRError) {
        stopDaemon(files(for: vdi.uuid))
        try counts.detach(vdi)
    }

    public func state(srUUID: String, vdiUUID: String) throws(SRError) -> BackendState {
        try counts.state(srUUID: srUUID, vdiUUID: vdiUUID)
    }

    /// Stops every daemon of the SR and forgets its counts (`sr_delete`).
    public func reset(srUUID: String) throws(SRError) {
        for files in DatapathFiles.all(in: paths.datapathDirectory, srUUID: srUUID) { stopDaemon(files) }
        try counts.reset(srUUID: srUUID)
    }

    public func pausedVDIs(srUUID: String) throws(SRError) -> [String] {
        try counts.pausedVDIs(srUUID: srUUID)
    }

    /// The I/O counters of VDI `vdiUUID`'s export (`sm vdi-stats`).
    public func statistics(vdiUUID: String) throws(SRError) -> ExportStatistics {
        let daemon = try liveDaemon(files(for: vdiUUID), vdiUUID)
        let all = try daemon.call("read the counters of VDI \(vdiUUID)", refusal: .vdiUnavailable) {
            (client) throws(DatapathError) in try client.statistics(export: vdiUUID)
        }
        guard let statistics = all[vdiUUID] else {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdiUUID) is not active on this host")
        }
        return statistics
    }

    // MARK: - The daemon

    /// The VDI's daemon, after checking that it is alive and answers as itself in time.
    func liveDaemon(_ files: DatapathFiles, _ vdiUUID: String) throws(SRError) -> LiveDaemon {
        try LiveDaemon(files, vdiUUID: vdiUUID, timeout: timeout)
    }

    /// Starts the VDI's daemon for the SR `descriptor` describes, written to the daemon's `.sr`
    /// file (mode 0600) for it to read: device-config may hold secrets, and command lines are
    /// public.
    func startDaemon(_ files: DatapathFiles, descriptor: SRDescriptor) throws(SRError) {
        guard let executable else {
            throw SRError(
                .tapdiskFailed, opterr: "\(DatapathExecutable.name) not found: install it beside sm or set SM_DATAPATHD")
        }
        try files.prepareDirectory()
        do { try descriptor.write(to: files.srFile) } catch {
            throw SRError(.tapdiskFailed, opterr: error.opterr ?? error.faultString)
        }
        do {
            _ = try DatapathLauncher.spawn(
                executable: executable, socketPath: files.socket, controlPath: files.control, pidFile: files.pidFile,
                logPath: files.log, srDescriptor: files.srFile)
        } catch {
            unlink(files.srFile)
            throw SRError(.tapdiskFailed, opterr: "\(error)")
        }
    }

    /// Stops the VDI's daemon within a few `timeout`s, killing it if it must (`DaemonStopper`),
    /// and removes its files but the log.
    func stopDaemon(_ files: DatapathFiles) {
        DaemonStopper(files: files, timeout: timeout).stop()
    }

    /// How the daemon opens the VDI's SR: only a VDI reached through its driver has one.
    func descriptor(of vdi: BackendVDI) throws(SRError) -> SRDescriptor {
        guard let descriptor = vdi.descriptor else {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdi.uuid) was not opened through an SR driver (no SR descriptor)")
        }
        return descriptor
    }
}
