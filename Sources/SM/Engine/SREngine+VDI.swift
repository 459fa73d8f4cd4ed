import BlockIO
import VHD
import VHDFormat

extension SREngine {
    /// What a new VDI is to be.
    public struct NewVDI: Sendable {
        public var uuid: String?
        public var size: UInt64
        public var nameLabel = ""
        public var nameDescription = ""
        public var type = "user"
        public var volumeType: VDIRecord.VolumeType = .vhd
        public var readOnly = false
        public var isASnapshot = false
        public var snapshotOf = ""
        public var snapshotTime = VDIRecord.neverSnapshotted
        public var smConfig: [String: String] = [:]

        public init(size: UInt64) { self.size = size }
    }

    /// SM's `validate_and_round_vhd_size`: at least 2 MiB, at most 2040 GiB, whole 2 MiB blocks.
    public static func roundedVDISize(_ size: UInt64) throws(SRError) -> UInt64 {
        guard size <= maximumVDISize else {
            throw EngineFailure.error(.vdiSize, "\(size) bytes exceeds the maximum of \(maximumVDISize)")
        }
        return roundUp(max(size, minimumVDISize), to: minimumVDISize)
    }

    /// Refuses a new VDI's `uuid` when it is the SR's own: SM keys locks (`<uuid>/sr` beside
    /// `<uuid>/vdi`, removed together on VDI delete), reference counts and CLI lookups by uuid
    /// alone, so the two would be confused.
    func refuseSRUUID(_ uuid: String) throws(SRError) {
        guard uuid != srUUID else {
            throw EngineFailure.error(.vdiCreate, "VDI uuid \(uuid) is the uuid of its SR; a VDI needs a uuid of its own")
        }
    }

    /// Creates a VDI: an empty dynamic VHD (its BAT sized for online growth) or a sparse raw volume.
    public func createVDI(_ request: NewVDI) throws(SRError) -> VDIRecord {
        let (uuid, size) = try admit(request, size: request.size)
        let options = Create.Options(virtualSize: size, preallocatedSize: leafCapacity(for: size))
        return try createVolume(
            uuid: uuid, request: request, size: size, volumeSize: initialVolumeSize(request.volumeType, options: options),
            failure: .vdiCreate
        ) { store throws(SRError) in
            try EngineFailure.vhd("vdi_create") { () throws(VHDError) in
                if request.volumeType == .raw {
                    if store.canGrow { try VHDError.wrap { () throws(BlockIOError) in try store.resize(to: size) } }
                } else {
                    try Create.write(on: store, options: options)
                }
            }
        }
    }

    /// The uuid a new VDI gets and its rounded size, after the checks every new VDI passes.
    func admit(_ request: NewVDI, size: UInt64) throws(SRError) -> (uuid: String, size: UInt64) {
        let uuid = request.uuid ?? Identifier.newUUID()
        guard Identifier.isUUID(uuid) else { throw EngineFailure.error(.vdiCreate, "invalid VDI uuid '\(uuid)'") }
        guard metadata.vdis[uuid] == nil else { throw EngineFailure.error(.vdiExists, uuid) }
        try refuseSRUUID(uuid)
        return (uuid, try Self.roundedVDISize(size))
    }

    /// Makes a new VDI's volume under its staging name (of `volumeSize` bytes: see
    /// `initialVolumeSize`) with `fill`, checks it (a VHD must pass
    /// the strict open every writer uses), flushes it, and commits its record: the commit
    /// point, after which the staging volume takes the VDI's name. Before it, the staging
    /// volume is removed (now, or by the next load), so a half-written volume never becomes a
    /// VDI and never takes a VDI's name.
    func createVolume(
        uuid: String, request: NewVDI, size: UInt64, volumeSize: UInt64, failure: SRErrorCode,
        fill: (any BlockStore) throws(SRError) -> Void
    ) throws(SRError) -> VDIRecord {
        try requireRecovered(failure)
        let volume = container.naming.volume(for: uuid, type: request.volumeType)
        let staging = VolumeNaming.staging(volume)
        let intent = try beginIntent(.create(volume: volume), vdi: uuid, failure: failure)
        let record: VDIRecord
        do throws(SRError) {
            let store = try EngineFailure.volume(failure) { () throws(VolumeError) in
                try container.remove(staging)
                return try container.create(staging, size: volumeSize)
            }
            try fill(store)
            try faultPoint.check("create:written")
            try EngineFailure.vhd("vdi_create") { () throws(VHDError) in
                try VHDError.wrap { () throws(BlockIOError) in try store.flush() }
                if request.volumeType == .vhd { _ = try Image.open(store: store, name: volume) }
            }
            var created = VDIRecord(
                uuid: uuid, nameLabel: request.nameLabel, nameDescription: request.nameDescription, type: request.type,
                volumeType: request.volumeType, virtualSize: size, physicalUtilisation: store.size,
                readOnly: request.readOnly, isASnapshot: request.isASnapshot, snapshotOf: request.snapshotOf,
                snapshotTime: request.snapshotTime, smConfig: request.smConfig)
            created.smConfig["vdi_type"] = request.volumeType == .vhd ? "vhd" : "aio"
            if request.volumeType == .raw { created.smConfig["type"] = "raw" }
            record = created
            try commit(marking: intent) { $0.vdis[uuid] = created }
            try faultPoint.check("create:committed")
        } catch {
            if !isCommitted(intent),
                (try? EngineFailure.volume(failure) { () throws(VolumeError) in try container.remove(staging) }) != nil
            {
                completeIntent(intent)
            }
            throw error
        }
        if (try? finishCreate(volume)) != nil { completeIntent(intent) }
        return record
    }

    /// After the commit point: the staging volume takes the VDI's name. Idempotent.
    func finishCreate(_ volume: String) throws(SRError) {
        try EngineFailure.volume(.vdiCreate) { () throws(VolumeError) in
            if container.exists(VolumeNaming.staging(volume)) {
                try container.rename(VolumeNaming.staging(volume), to: volume)
            }
            try container.sync()
        }
    }

    /// Deletes a VDI's volume and record. A base copy it leaves childless is the GC's to remove.
    ///
    /// The commit point is the rename of the volume to its destroy marker, which needs no free
    /// space; the marker is then emptied (freeing the space) and removed once the record's
    /// removal is saved. When that save fails (a full SR), the VDI is gone all the same: every
    /// load drops the record of a marked volume, and the next save makes that durable.
    public func deleteVDI(_ uuid: String) throws(SRError) {
        let record = try vdi(uuid)
        if metadata.vdis.values.contains(where: { $0.parent == uuid }) {
            throw EngineFailure.error(.vdiInUse, "VDI \(uuid) is the parent of other VDIs")
        }
        let volume = container.naming.volume(for: uuid, type: record.volumeType)
        let marker = VolumeNaming.destroying(volume)
        try EngineFailure.volume(.vdiDelete) { () throws(VolumeError) in
            if container.exists(volume) { try container.rename(volume, to: marker) }
            try container.sync()
        }
        try faultPoint.check("destroy:marked")
        try finishDelete(uuid, marker: marker)
    }

    /// After a destroy's commit point: frees the volume's space, drops the record (saved when
    /// it can be) and removes the marker once the save is durable.
    func finishDelete(_ uuid: String, marker: String) throws(SRError) {
        // Emptied, a file frees its space before the save that may need it; an LV frees its
        // extents only when removed, and the metadata volume needs none.
        if container.volumesGrowOnWrite {
            try? EngineFailure.volume(.vdiDelete) { () throws(VolumeError) in
                if container.exists(marker) { try container.resize(marker, to: 0) }
            }
        }
        try faultPoint.check("destroy:emptied")
        do throws(SRError) {
            try commit { $0.vdis[uuid] = nil }
        } catch {
            applyRecovered { $0.vdis[uuid] = nil }
            unsavedRecovery = error
            return
        }
        try faultPoint.check("destroy:committed")
        try? EngineFailure.volume(.vdiDelete) { () throws(VolumeError) in
            try container.remove(marker)
            try container.sync()
        }
    }

    /// Changes a VDI's user-visible fields (name, description, configs, snapshot fields).
    public func updateVDI(_ uuid: String, _ change: (inout VDIRecord) -> Void) throws(SRError) {
        var record = try vdi(uuid)
        let fixed = (record.uuid, record.volumeType, record.parent, record.hidden)
        change(&record)
        (record.uuid, record.volumeType, record.parent, record.hidden) = fixed
        let updated = record
        try commit { $0.vdis[uuid] = updated }
    }

    /// Refreshes a VDI's sizes from its volume (SMAPI `vdi_update`, and after a detach); the
    /// metadata is rewritten only when they changed.
    public func refreshVDI(_ uuid: String) throws(SRError) -> VDIRecord {
        let stored = try vdi(uuid)
        var record = stored
        let store = try openVolume(record, writable: false)
        record.physicalUtilisation = store.size
        if record.volumeType == .vhd {
            record.virtualSize = try EngineFailure.vhd("vdi_update") { () throws(VHDError) in
                try ImageSummary.read(store: store, name: record.location).virtualSize
            }
        } else {
            record.virtualSize = store.size
        }
        guard record != stored else { return stored }
        let updated = record
        try commit { $0.vdis[record.uuid] = updated }
        return updated
    }

    /// Empties a VDI's leaf at the start of a boot epoch when it resets on boot (SM's
    /// `reset_leaf`, `vhd-util modify -z`).
    public func resetOnBoot(_ uuid: String) throws(SRError) {
        let record = try vdi(uuid)
        guard record.onBoot == .reset, record.volumeType == .vhd else { return }
        let store = try openVolume(record, writable: true)
        try EngineFailure.vhd("vdi_epoch_begin") { () throws(VHDError) in
            try Modify.killData(of: Image.open(store: store, name: record.location, options: .readWrite))
        }
    }

    /// Makes `parentUUID` the VHD parent of `childUUID` and hides it (SMAPI `vdi_compose`).
    public func compose(parent parentUUID: String, child childUUID: String) throws(SRError) {
        let parent = try vdi(parentUUID)
        let child = try vdi(childUUID)
        guard parent.volumeType == .vhd, child.volumeType == .vhd else {
            throw EngineFailure.error(.vdiType, "compose needs two VHD VDIs")
        }
        guard parentUUID != childUUID, !isAncestor(childUUID, of: parentUUID) else {
            throw EngineFailure.error(.invalidArg, "VDI \(parentUUID) reads through \(childUUID): composing them makes a loop")
        }
        let parentVolume = container.naming.volume(for: parentUUID, type: .vhd)
        let parentStore = try openVolume(parent, writable: true)
        let childStore = try openVolume(child, writable: true)
        try EngineFailure.vhd("vdi_compose") { () throws(VHDError) in
            let parentImage = try Image.open(store: parentStore, name: parentVolume, options: .readWrite)
            let spec = ParentSpec(
                uuid: parentImage.uuid, timestamp: .now(), name: parentVolume,
                relativePath: container.locatorPath(for: parentVolume))
            try Modify.setParent(of: Image.open(store: childStore, name: child.location, options: .readWrite), to: spec)
            try parentImage.setHidden(true)
        }
        try commit { metadata in
            metadata.vdis[childUUID]?.parent = parentUUID
            metadata.vdis[childUUID]?.smConfig["vhd-parent"] = parentUUID
            metadata.vdis[parentUUID]?.hidden = true
            metadata.vdis[parentUUID]?.managed = false
            metadata.vdis[parentUUID]?.readOnly = true
        }
    }

    func openVolume(_ record: VDIRecord, writable: Bool) throws(SRError) -> any BlockStore {
        try EngineFailure.volume(.vdiUnavailable) { () throws(VolumeError) in
            try container.open(container.naming.volume(for: record.uuid, type: record.volumeType), writable: writable)
        }
    }

    /// Opens a VDI's chain for reading (and its leaf for writing when `writable`). Without
    /// `barriers` new blocks are not flushed one by one: for bulk copies that flush at the end.
    public func openChain(_ uuid: String, writable: Bool, barriers: Bool = true) throws(SRError) -> Chain {
        let record = try vdi(uuid)
        let store = try openVolume(record, writable: writable)
        return try EngineFailure.vhd("vdi_attach") { () throws(VHDError) in
            if record.volumeType == .raw {
                throw VHDError.unsupported(image: record.location, operation: "opening a raw VDI as a chain", errno: 22)
            }
            let leaf = try Image.open(store: store, name: record.location, options: .init(writable: writable, barriers: barriers))
            return try Chain.open(leaf: leaf, resolver: container.parentResolver, depthLimit: chainDepthLimit + 1)
        }
    }
}
