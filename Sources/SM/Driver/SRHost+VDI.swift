import VHD
/// VDI operations with this host's checks around the engine: names clipped, VDIs in use
/// refused (`VDIInUse`, 24), and the block backend driven. Each takes the engine of an SR
/// opened with `withEngine`, so it runs under the SR lock.
extension SRHost {
    /// Creates a VDI (names checked and clipped by `checkedName`).
    public func createVDI(_ engine: SREngine, _ request: SREngine.NewVDI) throws(SRError) -> VDIRecord {
        var request = request
        request.nameLabel = try Self.checkedName(request.nameLabel)
        request.nameDescription = try Self.checkedName(request.nameDescription)
        let record = try engine.createVDI(request)
        if record.volumeType == .vhd { scheduleSpares(engine, forSize: record.virtualSize) }
        return record
    }

    /// After the reply, makes the spare leaves a snapshot of a VDI of `size` will take, so that
    /// snapshot writes headers only (`SpareLeaves`).
    public func scheduleSpares(_ engine: SREngine, forSize size: UInt64) {
        AfterReply.scheduleSpares(engine, size: size)
    }

    /// Creates a VDI holding `source`'s content (see `SREngine.importVDI`).
    public func importVDI(
        _ engine: SREngine, _ request: SREngine.NewVDI, from source: any ConversionSource,
        progress: ((Double) -> Void)? = nil
    ) throws(SRError) -> VDIRecord {
        var request = request
        request.nameLabel = try Self.checkedName(request.nameLabel)
        request.nameDescription = try Self.checkedName(request.nameDescription)
        return try engine.importVDI(request, from: source, progress: progress)
    }

    /// Deletes a VDI; `VDIInUse` while it is attached or active on this host.
    public func deleteVDI(_ engine: SREngine, _ uuid: String) throws(SRError) {
        _ = try engine.vdi(uuid)
        try requireUnused(engine, uuid, for: "delete")
        try engine.deleteVDI(uuid)
        scheduleCollection(engine)
    }

    /// Scans the SR (`SREngine.scan`), then kicks its collector.
    public func scan(_ engine: SREngine) throws(SRError) -> SREngine.ScanReport {
        let report = try engine.scan()
        scheduleCollection(engine)
        return report
    }

    /// Snapshots or clones a VDI, the new VDI named by `names` (checked by `checkedName`). A VDI
    /// active read-write is paused around it when the backend can pause, and refused
    /// (`VDIInUse`) when it cannot.
    public func snapshotVDI(
        _ engine: SREngine, _ uuid: String, type: SREngine.SnapshotType = .double, isClone: Bool = false,
        now: String = XapiTime.now(), names: SREngine.CopyNames = .init()
    ) throws(SRError) -> SREngine.SnapshotResult {
        let checked = SREngine.CopyNames(
            nameLabel: try names.nameLabel.map(Self.checkedName),
            nameDescription: try names.nameDescription.map(Self.checkedName))
        let result = try whilePaused(engine, uuid, for: isClone ? "clone" : "snapshot") { () throws(SRError) in
            try engine.snapshot(uuid, type: type, isClone: isClone, now: now, names: checked)
        }
        scheduleSpares(engine, forSize: try engine.vdi(uuid).virtualSize)
        scheduleCollection(engine)
        return result
    }

    /// Makes VDI `uuid`'s content snapshot `snapshotUUID`'s (under the same pause rule).
    public func revertVDI(_ engine: SREngine, _ uuid: String, to snapshotUUID: String, now: String = XapiTime.now())
        throws(SRError)
    {
        _ = try engine.vdi(snapshotUUID)
        try whilePaused(engine, uuid, for: "revert") { () throws(SRError) in
            try engine.revert(uuid, to: snapshotUUID, now: now)
        }
        scheduleSpares(engine, forSize: try engine.vdi(uuid).virtualSize)
    }

    /// Grows a VDI. Offline (`online` false) the VDI must not be active read-write here.
    public func resizeVDI(_ engine: SREngine, _ uuid: String, to size: UInt64, online: Bool) throws(SRError)
        -> VDIRecord
    {
        _ = try engine.vdi(uuid)
        let active = try backend.state(srUUID: engine.srUUID, vdiUUID: uuid).activeReadWrite
        if !online, active {
            throw SRError(.vdiInUse, opterr: "VDI \(uuid) is active read-write: resize it online")
        }
        // The consumer re-reads the leaf's new size when it resumes; left running, it could
        // write its cached (old-size) footer over the new one.
        guard active, backend.canPause else { return try engine.resize(uuid, to: size, online: online) }
        return try whilePaused(engine, uuid, for: "resize") { () throws(SRError) in
            try engine.resize(uuid, to: size, online: online)
        }
    }

    /// Attaches a VDI for a consumer; hidden VDIs (base copies) are refused (`VDIUnavailable`).
    public func attachVDI(_ engine: SREngine, _ uuid: String, writable: Bool) throws(SRError) -> AttachInfo {
        let record = try engine.vdi(uuid)
        guard !record.hidden else { throw SRError(.vdiUnavailable, opterr: "VDI \(uuid) is a hidden base copy") }
        return try backend.attach(backendVDI(engine, record), writable: writable)
    }

    /// Activates an attached VDI, recording its `on_boot` mode when the toolstack gives one.
    public func activateVDI(_ engine: SREngine, _ uuid: String, writable: Bool, onBoot: VDIRecord.OnBoot? = nil)
        throws(SRError)
    {
        var record = try engine.vdi(uuid)
        if let onBoot, onBoot != record.onBoot {
            try engine.updateVDI(uuid) { $0.onBoot = onBoot }
            record.onBoot = onBoot
        }
        try backend.activate(backendVDI(engine, record), writable: writable)
    }

    /// Deactivates a VDI, then records its physical utilisation: its consumer's writes have
    /// grown the leaf, and the last deactivation closed and flushed it.
    public func deactivateVDI(_ engine: SREngine, _ uuid: String) throws(SRError) {
        try backend.deactivate(backendVDI(engine, try engine.vdi(uuid)))
        refreshSizes(engine, uuid)
    }

    /// Detaches a VDI, then records its physical utilisation (as `deactivateVDI`).
    public func detachVDI(_ engine: SREngine, _ uuid: String) throws(SRError) {
        try backend.detach(backendVDI(engine, try engine.vdi(uuid)))
        refreshSizes(engine, uuid)
    }

    /// Re-reads a VDI's sizes into its record (`SREngine.refreshVDI`), as the reference's
    /// `_db_update` does after a datapath change. A failure does not fail the datapath
    /// operation that already succeeded: the record is only stale until the next refresh or
    /// `sr_scan`, which reads the same sizes.
    func refreshSizes(_ engine: SREngine, _ uuid: String) {
        _ = try? engine.refreshVDI(uuid)
    }

    /// Starts a boot epoch: a VDI whose `on_boot` is `reset` loses its leaf's data.
    public func beginEpoch(_ engine: SREngine, _ uuid: String, onBoot: VDIRecord.OnBoot?) throws(SRError) {
        let record = try engine.vdi(uuid)
        if let onBoot, onBoot != record.onBoot { try engine.updateVDI(uuid) { $0.onBoot = onBoot } }
        guard (onBoot ?? record.onBoot) == .reset, driver.info.has("VDI_RESET_ON_BOOT") else { return }
        try engine.resetOnBoot(uuid)
    }

    /// The VDI as the backend sees it.
    public func backendVDI(_ engine: SREngine, _ record: VDIRecord) -> BackendVDI {
        BackendVDI(
            srUUID: engine.srUUID, storageType: driver.typeName, record: record, container: engine.container,
            descriptor: engine.descriptor)
    }

    /// The VDI's state with the backend on this host.
    public func backendState(_ engine: SREngine, _ uuid: String) throws(SRError) -> BackendState {
        try backend.state(srUUID: engine.srUUID, vdiUUID: uuid)
    }

    /// `VDIInUse` while the VDI is attached or active on this host.
    func requireUnused(_ engine: SREngine, _ uuid: String, for operation: String) throws(SRError) {
        let state = try backend.state(srUUID: engine.srUUID, vdiUUID: uuid)
        if state.isInUse {
            let how = state.isActive ? "active" : "attached"
            throw SRError(.vdiInUse, opterr: "cannot \(operation) VDI \(uuid): it is \(how) on this host")
        }
    }

    /// Runs `body`, which changes VDI `uuid`'s chain, with its consumer paused while it is
    /// active (refused when it is active read-write and the backend cannot pause).
    ///
    /// Once `body` has succeeded its change is committed, so a failed resume does not fail
    /// the operation: the VDI stays marked paused and the next operation on the SR resumes it
    /// (`resumeInterruptedPauses`).
    func whilePaused<T>(_ engine: SREngine, _ uuid: String, for operation: String, _ body: () throws(SRError) -> T)
        throws(SRError) -> T
    {
        let record = try engine.vdi(uuid)
        let state = try backend.state(srUUID: engine.srUUID, vdiUUID: uuid)
        guard backend.canPause ? state.isActive : state.activeReadWrite else { return try body() }
        guard backend.canPause else {
            throw SRError(
                .vdiInUse,
                opterr: "cannot \(operation) VDI \(uuid) while it is active read-write: its backend cannot pause")
        }
        let vdi = backendVDI(engine, record)
        try backend.pause(vdi)
        let result: T
        do { result = try body() } catch {
            try? backend.unpause(vdi)
            throw error
        }
        try? backend.unpause(vdi)
        return result
    }

    /// Resumes the VDIs of the SR left paused by an operation that never resumed them (its
    /// process died, or its resume failed). Runs with the SR lock held, so no pause is live.
    func resumeInterruptedPauses(_ engine: SREngine) {
        guard let paused = try? backend.pausedVDIs(srUUID: engine.srUUID) else { return }
        for uuid in paused {
            guard let record = try? engine.vdi(uuid) else { continue }
            try? backend.unpause(backendVDI(engine, record))
        }
    }
}
