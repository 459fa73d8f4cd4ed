import BlockIO
import VHD
import VHDFormat

extension SREngine {
    /// Makes VDI `uuid`'s content equal to snapshot `snapshotUUID`'s, keeping the VDI's uuid
    /// (the reference has no revert). The VDI gets a new empty leaf over the snapshot's content;
    /// its old leaf is discarded. A snapshot that was written to is first snapshotted itself
    /// (single), so that its content is a read-only base both can share.
    public func revert(_ uuid: String, to snapshotUUID: String, now: String) throws(SRError) {
        let record = try vdi(uuid)
        let snapshot = try vdi(snapshotUUID)
        guard record.volumeType == .vhd, snapshot.volumeType == .vhd else {
            throw EngineFailure.error("VDIType", "revert needs VHD VDIs")
        }
        guard uuid != snapshotUUID else { throw EngineFailure.error("InvalidArg", "a VDI cannot be reverted to itself") }
        let intent = try EngineFailure.wrap("SMGeneral") { () throws in
            try journal.begin(Intent(kind: "revert", vdiUUID: uuid, parameters: ["snapshot": snapshotUUID]))
        }
        let target = try revertTarget(snapshot, now: now)
        let leaf = VolumeNaming.volume(for: uuid, type: .vhd)
        let staging = leaf + ".new"
        try createChild(staging, of: target.volume, size: snapshot.virtualSize, command: "vdi_revert")
        try faultPoint.check("revert:created")
        try EngineFailure.volume("SMGeneral") { () throws(VolumeError) in
            try container.rename(staging, to: leaf)
            try container.sync()
        }
        try faultPoint.check("revert:renamed")
        try commit { metadata in
            metadata.vdis[uuid]?.parent = target.uuid
            metadata.vdis[uuid]?.smConfig["vhd-parent"] = target.uuid.isEmpty ? nil : target.uuid
            metadata.vdis[uuid]?.virtualSize = snapshot.virtualSize
            metadata.vdis[uuid]?.physicalUtilisation = self.volumeSize(leaf)
        }
        try EngineFailure.wrap("SMGeneral") { () throws in try journal.complete(intent.id) }
    }

    /// The read-only volume that holds `snapshot`'s content: its parent when the snapshot leaf
    /// holds nothing itself, else the base copy of a single snapshot taken of it now.
    func revertTarget(_ snapshot: VDIRecord, now: String) throws(SRError) -> (volume: String, uuid: String) {
        let volume = VolumeNaming.volume(for: snapshot.uuid, type: .vhd)
        let store = try openVolume(snapshot, writable: false)
        let empty = try EngineFailure.vhd("vdi_revert") { () throws(VHDError) -> Bool in
            let image = try Image.open(store: store, name: volume)
            return image.isDifferencing && image.bat.allocatedCount == 0
        }
        if empty, !snapshot.parent.isEmpty {
            return (VolumeNaming.volume(for: snapshot.parent, type: .vhd), snapshot.parent)
        }
        let result = try self.snapshot(snapshot.uuid, type: .single, now: now)
        let parent = try vdi(snapshot.uuid).parent
        _ = result
        return (VolumeNaming.volume(for: parent, type: .vhd), parent)
    }
}
