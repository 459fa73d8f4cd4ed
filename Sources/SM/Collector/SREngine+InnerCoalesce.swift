import BlockIO
import VHD
import VHDFormat

/// The coalesce of a hidden VDI into its parent (the reference's `_coalesce`), in three turns:
/// `beginCoalesce` under the SR lock, `copyCoalesce` without it (the child is a hidden,
/// read-only base copy, so nothing changes it meanwhile), `relinkCoalesced` under the lock with
/// the consumers below paused.
///
/// Crash safety: the copy writes only where the child has data, so every chain reads the same
/// bytes whether it stopped part-way or not; an interrupted copy is dropped (the parent
/// repaired and deflated) and done again by the next collector. The relink is rolled forward:
/// by then the parent holds every block of the child.
extension SREngine {
    /// A coalesce of `child` into `parent` that has begun.
    struct CoalesceJob: Sendable {
        let child: String
        let parent: String
        let intent: Intent
        let space: CoalesceSpace
    }

    /// Checks both VHDs and the SR's free space, records the intent and makes the parent ready
    /// to take the child's blocks: inflated where volumes do not grow, its virtual size grown to
    /// the child's. `SRNoSpace` (44), naming both VDIs and the bytes, before anything is written.
    func beginCoalesce(child: String, parent: String) throws(SRError) -> CoalesceJob {
        try requireRecovered(.smGeneral)
        let pair = try coalescePair(child: child, parent: parent)
        let space = CoalesceSpace(
            child: pair.child, parent: pair.parent, parentVolume: pair.parent.store.size,
            provisioning: container.provisioning)
        try requireSpace(space.extraBytes, for: "coalescing VDI \(child) into its parent \(parent)")
        let intent = try beginIntent(.coalesce(parent: parent), vdi: child, failure: .smGeneral)
        let job = CoalesceJob(child: child, parent: parent, intent: intent, space: space)
        do throws(SRError) {
            try prepareParent(parent, image: pair.parent, volumeSize: space.parentVolumeSize, virtualSize: pair.child.virtualSize)
            try faultPoint.check("coalesce:begun")
        } catch {
            settleDroppedCoalesce(job)
            throw error
        }
        return job
    }

    /// Writes the child's blocks into the parent. A failure (no space, an I/O error, an abort)
    /// ends the coalesce with the parent repaired and valid and the chain reading as before;
    /// the error names both VDIs.
    func copyCoalesce(_ job: CoalesceJob, progress: ((Double) -> Void)? = nil, shouldStop: (() -> Bool)? = nil)
        throws(SRError) -> UInt64
    {
        do throws(SRError) {
            let sectors = try copyBlocks(of: job.child, into: job.parent, progress: progress, shouldStop: shouldStop)
            try faultPoint.check("coalesce:copied")
            return sectors
        } catch {
            guard error.code != .fistPoint else { throw error }
            settleDroppedCoalesce(job)
            throw error
        }
    }

    /// Points the child's children at the parent, commits (the child's record goes), removes the
    /// child's volume and deflates the parent. The caller pauses the consumers reading through
    /// the child.
    func relinkCoalesced(_ job: CoalesceJob) throws(SRError) {
        let intent = try beginIntent(.relink(parent: job.parent), vdi: job.child, failure: .smGeneral)
        completeIntent(job.intent)
        try faultPoint.check("relink:begun")
        try relink(child: job.child, to: job.parent, intent: intent)
    }

    /// The relink's steps, also its recovery's: idempotent up to the commit, which the intent
    /// marks, and the removals after it.
    func relink(child: String, to parent: String, intent: Intent) throws(SRError) {
        let childVolume = container.naming.volume(for: child, type: .vhd)
        let parentVolume = container.naming.volume(for: parent, type: .vhd)
        if !isCommitted(intent) {
            let parentStore = try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in
                try container.open(parentVolume, writable: false)
            }
            let summary = try EngineFailure.vhd("sr_gc") { () throws(VHDError) in
                try ImageSummary.read(store: parentStore, name: parentVolume)
            }
            let spec = ParentSpec(
                uuid: summary.uuid, timestamp: .now(), name: parentVolume, relativePath: container.locatorPath(for: parentVolume))
            let children = metadata.vdis.values.filter { $0.parent == child }.map(\.uuid).sorted()
            for grandchild in children {
                let volume = container.naming.volume(for: grandchild, type: .vhd)
                let store = try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in
                    try container.open(volume, writable: true)
                }
                try EngineFailure.vhd("sr_gc") { () throws(VHDError) in
                    try Modify.setParent(of: Image.open(store: store, name: volume, options: .readWrite), to: spec)
                }
                try faultPoint.check("relink:child")
            }
            try commit(marking: intent) { metadata in
                for grandchild in children {
                    metadata.vdis[grandchild]?.parent = parent
                    metadata.vdis[grandchild]?.smConfig["vhd-parent"] = parent
                }
                metadata.vdis[child] = nil
                metadata.vdis[parent]?.virtualSize = summary.virtualSize
            }
            try faultPoint.check("relink:committed")
        }
        try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in
            try container.remove(childVolume)
            try container.sync()
        }
        try faultPoint.check("relink:removed")
        if container.exists(parentVolume), let size = try? deflate(parentVolume, failure: .smGeneral) {
            try? commit { $0.vdis[parent]?.physicalUtilisation = size }
        }
        completeIntent(intent)
    }

    /// An interrupted copy's recovery: the parent repaired and deflated, the intent dropped; the
    /// next collector coalesces again.
    func recoverCoalesce(_ intent: Intent, parent: String) throws(SRError) {
        try repairParent(parent)
        completeIntent(intent)
    }

    func recoverRelink(_ intent: Intent, parent: String) throws(SRError) {
        try relink(child: intent.vdiUUID, to: parent, intent: intent)
    }

    /// Ends a coalesce that will not finish: the parent repaired and deflated, the intent gone
    /// (kept for the next load when that fails).
    func settleDroppedCoalesce(_ job: CoalesceJob) {
        if (try? repairParent(job.parent)) != nil { completeIntent(job.intent) }
    }

    /// Rewrites the parent's footer after its last block (an allocation cut short leaves data
    /// past it) and gives its volume back what it does not use.
    func repairParent(_ parent: String) throws(SRError) {
        let volume = container.naming.volume(for: parent, type: .vhd)
        guard container.exists(volume) else { return }
        let store = try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in try container.open(volume, writable: true) }
        try EngineFailure.vhd("sr_gc") { () throws(VHDError) in
            try Repair.image(Image.open(store: store, name: volume, options: .readWrite))
        }
        try deflate(volume, failure: .smGeneral)
    }
}
