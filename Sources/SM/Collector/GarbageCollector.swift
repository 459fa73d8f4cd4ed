/// The SR's garbage collector (the reference's `cleanup.py` loop), written once over the engine
/// and so over any `VolumeContainer`. Each turn, under the SR lock: re-read the SR, delete the
/// garbage, then start one coalesce, the tallest tree first: an inner one (its copy then runs
/// without the lock, its relink in a second turn) or else a leaf one. Leaves holding more than
/// `directLeafLimit` are first shrunk by snapshot-coalesce rounds (an internal snapshot moves
/// their data into a hidden node, which an inner coalesce then merges without holding the
/// leaf), so the final coalesce of any leaf copies little, and an active leaf's consumer is
/// paused only for that.
///
/// A coalesce that fails (no space, an I/O error, a damaged VHD) is reported with its VDIs
/// named and not tried again in this run; the SR stays as it was. Trees the collector must not
/// touch (`VHDTree`) are skipped with why. The run ends when nothing is left to do or an abort
/// is asked for; the copy in progress stops within one block.
public struct GarbageCollector: Sendable {
    public let engine: SREngine
    public let environment: any CollectorEnvironment
    /// The data a leaf may hold for its coalesce to go in one pause.
    public var directLeafLimit: UInt64 = 64 << 20
    /// The snapshot-coalesce rounds one leaf gets in a run before it is left for later.
    public var maximumLeafRounds = 10
    public var progress: (@Sendable (CollectorProgress) -> Void)?

    public init(engine: SREngine, environment: any CollectorEnvironment) {
        self.engine = engine
        self.environment = environment
    }

    /// What a turn under the lock leaves to do.
    private enum Turn {
        case disabled
        case finished
        case again
        case copy(SREngine.CoalesceJob)
    }

    /// The state of one run.
    private final class Run {
        var summary = CollectorSummary()
        /// Children whose coalesce failed in this run, and garbage that could not be deleted.
        var failed: Set<String> = []
        var leafRounds: [String: LeafRounds] = [:]
    }

    /// Runs until there is nothing left to do or an abort is asked for. Only errors that stop
    /// the whole run throw (the SR lock, re-reading the SR, a crash test's fault point); each
    /// coalesce's own failure is in the summary.
    public func run() throws(SRError) -> CollectorSummary {
        let clock = ContinuousClock()
        let start = clock.now
        let freeBefore = (try? engine.container.space().free) ?? 0
        let run = Run()
        loop: while !environment.abortRequested {
            let turn = try environment.exclusive(engine) { () throws(SRError) -> Turn in try self.turn(run) }
            switch turn {
            case .disabled:
                run.summary.disabled = true
                break loop
            case .finished:
                break loop
            case .again:
                continue
            case .copy(let job):
                try finish(job, run)
            }
        }
        run.summary.aborted = environment.abortRequested
        let freeAfter = (try? engine.container.space().free) ?? freeBefore
        run.summary.bytesReclaimed = freeAfter > freeBefore ? freeAfter - freeBefore : 0
        run.summary.seconds = Self.seconds(start.duration(to: clock.now))
        return run.summary
    }

    /// One turn under the SR lock: the garbage, then the start of one coalesce.
    private func turn(_ run: Run) throws(SRError) -> Turn {
        let settings = CollectorSettings(sr: engine.sr)
        guard settings.collect else { return .disabled }
        let tree = VHDTree(engine: engine)
        let plan = CollectorPlan(tree: tree, engine: engine, settings: settings, busy: engine.collectorIntentVDIs())
        run.summary.skipped = plan.refusedTrees
        for uuid in plan.garbage where !run.failed.contains(uuid) {
            guard !environment.abortRequested else { return .finished }
            progress?(CollectorProgress(step: .deleting, vdi: uuid))
            do throws(SRError) {
                try engine.deleteVDI(uuid)
                run.summary.garbageDeleted += 1
            } catch {
                try Self.rethrowFaultPoint(error)
                run.failed.insert(uuid)
                run.summary.failures.append("deleting garbage VDI \(uuid): \(error.opterr ?? error.faultString)")
            }
        }
        guard !environment.abortRequested else { return .finished }
        if let job = plan.coalescable.first(where: { !run.failed.contains($0.child) }) {
            progress?(CollectorProgress(step: .coalescing, vdi: job.child, parent: job.parent, fraction: 0))
            do throws(SRError) {
                return .copy(try engine.beginCoalesce(child: job.child, parent: job.parent))
            } catch {
                try fail(job, error, run)
                return .again
            }
        }
        if let job = plan.leafCoalescable.first(where: { !run.failed.contains($0.child) }) {
            do throws(SRError) { try coalesceLeaf(job, run) } catch { try fail(job, error, run) }
            return .again
        }
        return .finished
    }

    /// The copy of an inner coalesce without the lock, then its relink under it, with every
    /// consumer reading through the child paused.
    private func finish(_ job: SREngine.CoalesceJob, _ run: Run) throws(SRError) {
        let report: @Sendable (Double) -> Void = { [progress] fraction in
            progress?(CollectorProgress(step: .coalescing, vdi: job.child, parent: job.parent, fraction: fraction))
        }
        do throws(SRError) {
            _ = try engine.copyCoalesce(job, progress: report, shouldStop: { environment.abortRequested })
            try environment.exclusive(engine) { () throws(SRError) in
                progress?(CollectorProgress(step: .relinking, vdi: job.child, parent: job.parent))
                let readers = Set(VHDTree(engine: engine).subtree(job.child))
                _ = try paused(environment.activeVDIs(engine).intersection(readers)) { () throws(SRError) in
                    try engine.relinkCoalesced(job)
                }
            }
            run.summary.nodesCoalesced += 1
        } catch {
            try fail(CollectorPlan.Coalesce(child: job.child, parent: job.parent, height: 0), error, run)
        }
    }

    /// One leaf's turn: a snapshot-coalesce round while it holds too much to coalesce in one
    /// pause, else its coalesce.
    private func coalesceLeaf(_ job: CollectorPlan.Coalesce, _ run: Run) throws(SRError) {
        let data = try engine.allocatedBytes(job.child)
        let active = environment.activeVDIs(engine).contains(job.child)
        var rounds = run.leafRounds[job.child] ?? LeafRounds()
        if data > directLeafLimit {
            guard rounds.count < maximumLeafRounds, !rounds.isStalled else {
                throw SRError(
                    .smGeneral,
                    opterr: "leaf VDI \(job.child) could not be coalesced: it still holds \(data) bytes after \(rounds.count) rounds (its writes outpace the copy); left for a later run")
            }
            if engine.chainDepth(job.child) < engine.chainDepthLimit {
                progress?(CollectorProgress(step: .snapshotting, vdi: job.child))
                rounds.record(data)
                run.leafRounds[job.child] = rounds
                _ = try paused(active ? [job.child] : []) { () throws(SRError) in
                    _ = try engine.snapshot(job.child, type: .internal, now: XapiTime.now())
                }
                return
            }
        }
        progress?(CollectorProgress(step: .leafCoalescing, vdi: job.child, parent: job.parent, fraction: 0))
        let report: @Sendable (Double) -> Void = { [progress] fraction in
            progress?(CollectorProgress(step: .leafCoalescing, vdi: job.child, parent: job.parent, fraction: fraction))
        }
        let pause = try paused(active ? [job.child] : []) { () throws(SRError) in
            _ = try engine.coalesceLeaf(job.child, into: job.parent, progress: report, shouldStop: { environment.abortRequested })
        }
        if active { run.summary.pauses.append(.init(vdi: job.child, milliseconds: pause)) }
        run.summary.leavesCoalesced += 1
    }

    /// Runs `body` with the consumers of `vdis` paused; returns the pause in milliseconds.
    private func paused(_ vdis: Set<String>, _ body: () throws(SRError) -> Void) throws(SRError) -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        var held: [String] = []
        defer { for uuid in held { try? environment.resume(engine, uuid) } }
        for uuid in vdis.sorted() {
            try environment.pause(engine, uuid)
            held.append(uuid)
        }
        try body()
        return Self.seconds(start.duration(to: clock.now)) * 1000
    }

    /// Records a failed coalesce (an abort is no failure); a crash test's stop ends the run.
    private func fail(_ job: CollectorPlan.Coalesce, _ error: SRError, _ run: Run) throws(SRError) {
        try Self.rethrowFaultPoint(error)
        run.failed.insert(job.child)
        guard !environment.abortRequested else { return }
        let message = error.opterr ?? error.faultString
        run.summary.failures.append(
            message.contains(job.child) ? message : "coalescing VDI \(job.child) into \(job.parent): \(message)")
    }

    private static func rethrowFaultPoint(_ error: SRError) throws(SRError) {
        if error.code == .fistPoint { throw error }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// The snapshot-coalesce rounds of one leaf, as the reference's `CoalesceTracker` keeps them:
/// a leaf whose data does not shrink over three rounds is left for later.
struct LeafRounds: Sendable {
    private(set) var sizes: [UInt64] = []

    var count: Int { sizes.count }

    mutating func record(_ bytes: UInt64) { sizes.append(bytes) }

    /// Whether the last three rounds found no less data than the least seen before them.
    var isStalled: Bool {
        guard sizes.count > 3, let least = sizes.dropLast(3).min() else { return false }
        return sizes.suffix(3).allSatisfy { $0 >= least }
    }
}
