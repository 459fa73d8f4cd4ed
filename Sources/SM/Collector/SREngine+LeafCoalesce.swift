import BlockIO
import VHD
import VHDFormat

/// The coalesce of a visible leaf into its hidden parent (the reference's `_coalesceLeaf`
/// "rename dance"): the leaf's blocks go into the parent, which then takes the leaf's volume
/// name and the VDI keeps its uuid, name and record, one link shorter. Run under the SR lock
/// with the leaf's consumer paused.
///
/// Crash safety, with the metadata save as the commit point: the old leaf keeps its content
/// under `<leaf>.old` (a hard link, or a rename where there are no links) until the save, so
/// an interrupted coalesce is undone by renames (the parent hidden again); after it only the
/// old leaf's removal remains.
extension SREngine {
    /// Coalesces leaf `leaf` into `parent`; returns the sectors copied.
    func coalesceLeaf(
        _ leaf: String, into parent: String, progress: ((Double) -> Void)? = nil, shouldStop: (() -> Bool)? = nil
    ) throws(SRError) -> UInt64 {
        try requireRecovered(.smGeneral)
        let record = try vdi(leaf)
        let pair = try coalescePair(child: leaf, parent: parent)
        let leafVolume = container.naming.volume(for: leaf, type: .vhd)
        let parentVolume = container.naming.volume(for: parent, type: .vhd)
        let thick = container.volumesGrowOnWrite
            ? 0 : inflatedSize(endOfHeaders: pair.parent.endOfHeaders, virtualSize: pair.child.virtualSize, blockSize: pair.parent.blockSize)
        let space = CoalesceSpace(
            child: pair.child, parent: pair.parent, parentVolume: pair.parent.store.size,
            provisioning: container.provisioning, reserve: thick)
        // Where volumes are sized up front the leaf is deflated first, which frees what it
        // does not use before the parent grows.
        let freedByLeaf = container.volumesGrowOnWrite
            ? 0 : pair.child.store.size - min(pair.child.store.size, container.provisioning.rounded(pair.child.physicalUtilisation))
        try requireSpace(
            space.extraBytes - min(space.extraBytes, freedByLeaf), for: "coalescing leaf VDI \(leaf) into its parent \(parent)")
        let intent = try beginIntent(.leafCoalesce(parent: parent), vdi: leaf, failure: .smGeneral)
        let sectors: UInt64
        do throws(SRError) {
            try faultPoint.check("leaf:begun")
            try deflate(leafVolume, failure: .smGeneral)
            try prepareParent(parent, image: pair.parent, volumeSize: space.parentVolumeSize, virtualSize: pair.child.virtualSize)
            try faultPoint.check("leaf:prepared")
            sectors = try copyBlocks(of: leaf, into: parent, progress: progress, shouldStop: shouldStop)
            try faultPoint.check("leaf:copied")
            try setHidden(false, parentVolume)
            try faultPoint.check("leaf:unhidden")
            try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in
                try switchLeaf(leafVolume, from: parentVolume, saving: VolumeNaming.previous(leafVolume))
            }
            try faultPoint.check("leaf:renamed")
            let parentRecord = metadata.vdis[parent]
            let grandparent = parentRecord?.parent ?? ""
            let sizes = (virtual: max(pair.child.virtualSize, pair.parent.virtualSize), physical: volumeSize(leafVolume))
            try commit(marking: intent) { metadata in
                metadata.vdis[parent] = nil
                metadata.vdis[leaf]?.parent = grandparent
                metadata.vdis[leaf]?.smConfig["vhd-parent"] = grandparent.isEmpty ? nil : grandparent
                metadata.vdis[leaf]?.virtualSize = sizes.virtual
                metadata.vdis[leaf]?.physicalUtilisation = sizes.physical
            }
            try faultPoint.check("leaf:committed")
        } catch {
            if !isCommitted(intent), (try? undoLeafCoalesce(leaf, parent: parent, virtualSize: record.virtualSize)) != nil {
                completeIntent(intent)
            }
            throw error
        }
        if (try? finishLeafCoalesce(leafVolume)) != nil { completeIntent(intent) }
        return sectors
    }

    /// After the commit: the old leaf goes. Idempotent.
    func finishLeafCoalesce(_ leafVolume: String) throws(SRError) {
        try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in
            try container.remove(VolumeNaming.previous(leafVolume))
            try container.sync()
        }
        try faultPoint.check("leaf:removed")
    }

    /// Before the commit: the leaf's volume gets its old content back, the parent its name and
    /// hidden flag, and volumes their provisioning. Renames and header writes only; idempotent.
    func undoLeafCoalesce(_ leaf: String, parent: String, virtualSize: UInt64) throws(SRError) {
        let leafVolume = container.naming.volume(for: leaf, type: .vhd)
        let parentVolume = container.naming.volume(for: parent, type: .vhd)
        let saved = VolumeNaming.previous(leafVolume)
        try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in
            // Past the switch the leaf's name holds the parent's content.
            if container.exists(saved), !container.exists(parentVolume), container.exists(leafVolume),
                !container.isSameVolume(leafVolume, saved)
            {
                try container.rename(leafVolume, to: parentVolume)
            }
            try restore(saved, as: leafVolume)
            try container.sync()
        }
        if container.exists(parentVolume) {
            try setHidden(true, parentVolume)
            try deflate(parentVolume, failure: .smGeneral)
        }
        try inflate(leafVolume, forVirtualSize: virtualSize, failure: .smGeneral)
    }

    func recoverLeafCoalesce(_ intent: Intent, parent: String) throws(SRError) {
        let leafVolume = container.naming.volume(for: intent.vdiUUID, type: .vhd)
        if isCommitted(intent) {
            try finishLeafCoalesce(leafVolume)
        } else {
            let size = metadata.vdis[intent.vdiUUID]?.virtualSize ?? 0
            try undoLeafCoalesce(intent.vdiUUID, parent: parent, virtualSize: size)
        }
        completeIntent(intent)
    }

    func setHidden(_ hidden: Bool, _ volume: String) throws(SRError) {
        let store = try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in try container.open(volume, writable: true) }
        try EngineFailure.vhd("sr_gc") { () throws(VHDError) in try HiddenFlag.set(hidden, store: store, name: volume) }
    }
}
