import BlockIO
import VHD
import VHDFormat

extension SREngine {
    /// Makes VDI `uuid`'s content equal to snapshot `snapshotUUID`'s, keeping the VDI's uuid
    /// (the reference has no revert). The VDI gets a new empty leaf over the snapshot's content;
    /// its old leaf is discarded. A snapshot that was written to is first snapshotted itself
    /// (single), so that its content is a read-only base both can share.
    ///
    /// Crash-safe like a snapshot, with the metadata save as the commit point: the old leaf is
    /// kept as `<leaf>.old` (a second name, or renamed where there are no links) until then,
    /// so a revert that fails or is interrupted before it gives the VDI its own content back.
    public func revert(_ uuid: String, to snapshotUUID: String, now: String) throws(SRError) {
        try requireRecovered(.smGeneral)
        let record = try vdi(uuid)
        let snapshot = try vdi(snapshotUUID)
        guard record.volumeType == .vhd, snapshot.volumeType == .vhd else {
            throw EngineFailure.error(.vdiType, "revert needs VHD VDIs")
        }
        guard uuid != snapshotUUID else { throw EngineFailure.error(.invalidArg, "a VDI cannot be reverted to itself") }
        // Only a leaf can take new content: a base copy's children read through it, and a
        // target reached through the VDI itself would become its own parent.
        guard !record.hidden, !metadata.vdis.values.contains(where: { $0.parent == uuid }) else {
            throw EngineFailure.error(.vdiInUse, "VDI \(uuid) is a base copy other VDIs read through: it cannot be reverted")
        }
        guard !isAncestor(uuid, of: snapshotUUID) else {
            throw EngineFailure.error(.invalidArg, "snapshot \(snapshotUUID) reads through VDI \(uuid)")
        }
        let target = try revertTarget(snapshot, now: now)
        let intent = try beginIntent(
            .revert(snapshot: snapshotUUID, target: target.uuid), vdi: uuid, failure: .smGeneral)
        let leaf = container.naming.volume(for: uuid, type: .vhd)
        do throws(SRError) {
            try performRevert(uuid, leaf: leaf, target: target, size: snapshot.virtualSize, intent: intent)
        } catch {
            if !isCommitted(intent), (try? undoRevert(leaf)) != nil { completeIntent(intent) }
            throw error
        }
        if (try? finishRevert(leaf)) != nil { completeIntent(intent) }
    }

    /// The steps up to and including the commit point (the metadata save).
    func performRevert(_ uuid: String, leaf: String, target: (volume: String, uuid: String), size: UInt64, intent: Intent)
        throws(SRError)
    {
        let staging = VolumeNaming.staging(leaf)
        try createChild(staging, of: target.volume, size: size, failure: .smGeneral)
        try faultPoint.check("revert:created")
        try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in
            try switchLeaf(leaf, from: staging, saving: VolumeNaming.previous(leaf))
        }
        try faultPoint.check("revert:renamed")
        let leafSize = volumeSize(leaf)
        try commit(marking: intent) { metadata in
            metadata.vdis[uuid]?.parent = target.uuid
            metadata.vdis[uuid]?.smConfig["vhd-parent"] = target.uuid.isEmpty ? nil : target.uuid
            metadata.vdis[uuid]?.virtualSize = size
            metadata.vdis[uuid]?.physicalUtilisation = leafSize
        }
        try faultPoint.check("revert:committed")
    }

    /// After the commit point: the old leaf's data is freed. Idempotent.
    func finishRevert(_ leaf: String) throws(SRError) {
        try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in
            try container.remove(VolumeNaming.previous(leaf))
            try container.remove(VolumeNaming.staging(leaf))
            try container.sync()
        }
    }

    /// Before the commit point: the VDI's old leaf takes its name back; the new one goes.
    func undoRevert(_ leaf: String) throws(SRError) {
        try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in
            try container.remove(VolumeNaming.staging(leaf))
            try restore(VolumeNaming.previous(leaf), as: leaf)
            try container.sync()
        }
    }

    /// Whether `ancestor` is on `uuid`'s chain of parents (records only, bounded against loops).
    func isAncestor(_ ancestor: String, of uuid: String) -> Bool {
        let records = metadata.vdis
        var current = records[uuid]?.parent ?? ""
        var steps = 0
        while !current.isEmpty, steps <= records.count {
            if current == ancestor { return true }
            current = records[current]?.parent ?? ""
            steps += 1
        }
        return false
    }

    /// The read-only volume that holds `snapshot`'s content: its parent when the snapshot leaf
    /// holds nothing itself, else the base copy of a single snapshot taken of it now.
    func revertTarget(_ snapshot: VDIRecord, now: String) throws(SRError) -> (volume: String, uuid: String) {
        let volume = container.naming.volume(for: snapshot.uuid, type: .vhd)
        let store = try openVolume(snapshot, writable: false)
        if try holdsNoBlock(store, name: volume, command: "vdi_revert"), !snapshot.parent.isEmpty {
            return (container.naming.volume(for: snapshot.parent, type: .vhd), snapshot.parent)
        }
        _ = try self.snapshot(snapshot.uuid, type: .single, now: now)
        let parent = try vdi(snapshot.uuid).parent
        return (container.naming.volume(for: parent, type: .vhd), parent)
    }
}
