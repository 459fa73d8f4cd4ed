/// The garbage collector on this host: one per SR at a time (the SR's `gc_active` lock), its
/// turns under the SR lock, the consumers of active VDIs paused through the block backend, and
/// stopped through its abort flag.
extension SRHost {
    /// How long `abortCollector` waits for a running collector to stop.
    public static let collectorAbortTimeout = Duration.seconds(5)

    public func collectorFlags(srUUID: String) -> CollectorFlags { CollectorFlags(paths: paths, srUUID: srUUID) }

    /// Whether a collector runs on SR `srUUID` in another process now.
    public func isCollectorRunning(srUUID: String) -> Bool {
        (try? paths.locks.gcActiveLock(srUUID: srUUID).isHeldByAnotherProcess) ?? false
    }

    /// Runs the collector on SR `srUUID` in this process until nothing is left to do, and
    /// again while kicks arrive. When one runs already it is left a kick, which it picks up
    /// before it exits, and nil is returned.
    public func collect(
        srUUID: String, deviceConfig: [String: String], progress: (@Sendable (CollectorProgress) -> Void)? = nil
    ) throws(SRError) -> CollectorSummary? {
        try Self.validate(srUUID: srUUID)
        let flags = collectorFlags(srUUID: srUUID)
        let active = try paths.locks.gcActiveLock(srUUID: srUUID)
        try flags.raise(flags.kick)
        var total: CollectorSummary?
        // The kick is checked again after the lock is given up: a kick that found the lock
        // taken just before is then this process's to run, or a new holder's.
        while flags.isRaised(flags.kick), try active.tryAcquire() {
            defer { try? active.release() }
            flags.lower(flags.abort)
            while flags.isRaised(flags.kick), !flags.isRaised(flags.abort) {
                flags.lower(flags.kick)
                let engine = try locked(srUUID) { () throws(SRError) -> SREngine in
                    let storage = try driver.storage(srUUID: srUUID, deviceConfig: deviceConfig)
                    return try self.engine(srUUID: srUUID, storage: storage, deviceConfig: deviceConfig)
                }
                var collector = GarbageCollector(engine: engine, environment: HostCollectorEnvironment(host: self, flags: flags))
                collector.progress = progress
                total = (total ?? CollectorSummary()).adding(try collector.run())
            }
        }
        return total
    }

    /// Stops the collector running on SR `srUUID`, waiting up to `collectorAbortTimeout`; nothing
    /// to do when none runs. It stops within one block of its copy, its work undone or done.
    public func abortCollector(srUUID: String) throws(SRError) {
        guard isCollectorRunning(srUUID: srUUID) else { return }
        let flags = collectorFlags(srUUID: srUUID)
        try flags.raise(flags.abort)
        defer { flags.lower(flags.abort) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: Self.collectorAbortTimeout)
        while isCollectorRunning(srUUID: srUUID) {
            guard clock.now < deadline else {
                throw SRError(.srInUse, opterr: "the garbage collector of SR \(srUUID) did not stop within \(Self.collectorAbortTimeout)")
            }
            SystemCall.sleep(.milliseconds(20))
        }
    }

    /// Asks for a collector run after the reply, when this host is the SR master, the SR lets
    /// its collector run, and the host does (`SM_AUTO_GC=0` turns the runs after replies off
    /// for every SR, as the reference's `cleanup.py -x` does for one; `sm sr-gc` still runs).
    public func scheduleCollection(_ engine: SREngine) {
        guard isMaster, collectsAfterReply, CollectorSettings(sr: engine.sr).collect else { return }
        AfterReply.scheduleCollection(engine)
    }
}

/// The collector's environment on this host.
struct HostCollectorEnvironment: CollectorEnvironment {
    let host: SRHost
    let flags: CollectorFlags

    func exclusive<T>(_ engine: SREngine, _ body: () throws(SRError) -> T) throws(SRError) -> T {
        try host.locked(engine.srUUID) { () throws(SRError) in
            try engine.reload()
            host.resumeInterruptedPauses(engine)
            return try body()
        }
    }

    var abortRequested: Bool { flags.isRaised(flags.abort) }

    func activeVDIs(_ engine: SREngine) -> Set<String> {
        Set(engine.vdis.filter { (try? host.backendState(engine, $0.uuid).isActive) == true }.map(\.uuid))
    }

    func pause(_ engine: SREngine, _ uuid: String) throws(SRError) {
        try host.backend.pause(host.backendVDI(engine, try engine.vdi(uuid)))
    }

    func resume(_ engine: SREngine, _ uuid: String) throws(SRError) {
        try host.backend.unpause(host.backendVDI(engine, try engine.vdi(uuid)))
    }
}

extension CollectorSummary {
    /// This run and `other` together (a collector that ran again for a kick).
    func adding(_ other: CollectorSummary) -> CollectorSummary {
        var sum = self
        sum.garbageDeleted += other.garbageDeleted
        sum.nodesCoalesced += other.nodesCoalesced
        sum.leavesCoalesced += other.leavesCoalesced
        sum.bytesReclaimed += other.bytesReclaimed
        sum.seconds += other.seconds
        sum.aborted = sum.aborted || other.aborted
        sum.disabled = other.disabled
        sum.skipped = other.skipped
        sum.failures += other.failures
        sum.pauses += other.pauses
        return sum
    }
}
