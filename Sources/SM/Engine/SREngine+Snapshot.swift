import BlockIO
import VHD
import VHDFormat

extension SREngine {
    /// SM's snapshot types: one new leaf, two, or one without accounting (the GC's).
    public enum SnapshotType: String, Sendable {
        case single
        case double
        case `internal`
    }

    /// The outcome of a snapshot or clone.
    public struct SnapshotResult: Sendable {
        /// The user-visible new VDI (the snapshot or the clone); nil for a single snapshot.
        public var newVDI: VDIRecord?
        /// The hidden, read-only base copy holding the original content; nil when it was empty
        /// and dropped.
        public var baseCopy: VDIRecord?
    }

    /// Names for the new VDI of a double snapshot or clone; nil fields keep the source's.
    public struct CopyNames: Sendable {
        public var nameLabel: String?
        public var nameDescription: String?

        public init(nameLabel: String? = nil, nameDescription: String? = nil) {
            self.nameLabel = nameLabel
            self.nameDescription = nameDescription
        }
    }

    /// The volumes one snapshot works with.
    struct SnapshotVolumes {
        let leaf: String
        let base: String
        let clone: String?

        init(uuid: String, base: String, clone: String, naming: VDIVolumeNaming) {
            leaf = naming.volume(for: uuid, type: .vhd)
            self.base = naming.volume(for: base, type: .vhd)
            self.clone = clone.isEmpty ? nil : naming.volume(for: clone, type: .vhd)
        }
    }

    /// Snapshots (or clones) VDI `uuid` with the reference's semantics: the VDI keeps its
    /// uuid, its current content becomes a hidden read-only base copy, and the VDI (and for a
    /// double snapshot a second new VDI) become empty children of it. An empty base copy with a
    /// parent is skipped and dropped.
    ///
    /// Crash-safe, with the metadata save as the commit point: the leaf's volume takes the base
    /// copy's name (a hard link where the container has links, so the VDI's name never goes
    /// away; else a rename, as LVHD does), the new leaves are written under staging names and
    /// the VDI's takes its name by one rename, all undone (the base copy renamed back) when
    /// anything fails before the save; after it, only space-freeing steps remain (hiding and
    /// deflating the base copy), which recovery redoes. So a snapshot that reported failure
    /// never appears later, and none needs space to recover.
    public func snapshot(
        _ uuid: String, type: SnapshotType = .double, isClone: Bool = false, now: String, names: CopyNames = .init()
    ) throws(SRError) -> SnapshotResult {
        let failure: SRErrorCode = isClone ? .vdiClone : .vdiSnapshot
        try requireRecovered(failure)
        let record = try vdi(uuid)
        guard record.volumeType == .vhd else {
            throw EngineFailure.error(failure, "only VHD VDIs can be snapshotted; \(uuid) is raw")
        }
        guard !record.hidden else { throw EngineFailure.error(failure, "VDI \(uuid) is hidden") }
        let depth = chainDepth(uuid)
        if depth >= chainDepthLimit {
            throw EngineFailure.error(.snapshotChainTooLong, "VDI \(uuid) has a chain of \(depth) (limit \(chainDepthLimit))")
        }
        let base = Identifier.newUUID()
        let clone = type == .double ? Identifier.newUUID() : ""
        let volumes = SnapshotVolumes(uuid: uuid, base: base, clone: clone, naming: container.naming)
        let intent = try beginIntent(
            .snapshot(base: base, clone: clone.isEmpty ? nil : clone, type: type, isClone: isClone, now: now), vdi: uuid,
            failure: failure)
        var result: SnapshotResult
        do throws(SRError) {
            result = try performSnapshot(
                record, volumes: volumes, base: base, clone: clone, isClone: isClone, now: now, names: names,
                intent: intent, failure: failure)
        } catch {
            // An undo that fails keeps its intent, so the next load tries again.
            if !isCommitted(intent), (try? undoSnapshot(volumes)) != nil { completeIntent(intent) }
            throw error
        }
        // Past the commit point the snapshot exists whatever happens next: what is left only
        // frees space or sets a flag, and the next load redoes it if it fails here.
        do throws(SRError) {
            let baseSize = try finishSnapshot(volumes, baseUsed: result.baseCopy != nil)
            completeIntent(intent)
            if let baseSize, let base = result.baseCopy, baseSize != base.physicalUtilisation {
                // A deflated base copy's record takes its new size; a failed save leaves the
                // old one for the next scan to correct.
                try? commit { $0.vdis[base.uuid]?.physicalUtilisation = baseSize }
                result.baseCopy?.physicalUtilisation = baseSize
            }
        } catch {}
        return result
    }

    /// The steps up to and including the commit point (the metadata save).
    func performSnapshot(
        _ record: VDIRecord, volumes: SnapshotVolumes, base: String, clone: String, isClone: Bool, now: String,
        names: CopyNames, intent: Intent, failure: SRErrorCode
    ) throws(SRError) -> SnapshotResult {
        // The leaf's own size, not the record's: a resize interrupted before its save changed it.
        let leafStore = try openVolume(record, writable: false)
        let virtualSize = try EngineFailure.vhd(isClone ? "vdi_clone" : "vdi_snapshot") { () throws(VHDError) in
            try ImageSummary.read(store: leafStore, name: volumes.leaf).virtualSize
        }
        try EngineFailure.volume(failure) { () throws(VolumeError) in
            if container.supportsLinks {
                try container.link(volumes.leaf, as: volumes.base)
            } else {
                try container.rename(volumes.leaf, to: volumes.base)
            }
            try container.sync()
        }
        try faultPoint.check("snapshot:linked")
        let parentVolume = try linkTarget(forBase: volumes.base, failure: failure)
        let baseUsed = parentVolume == volumes.base
        try createChild(VolumeNaming.staging(volumes.leaf), of: parentVolume, size: virtualSize, failure: failure)
        if let cloneVolume = volumes.clone {
            try createChild(VolumeNaming.staging(cloneVolume), of: parentVolume, size: virtualSize, failure: failure)
        }
        try faultPoint.check("snapshot:created")
        try EngineFailure.volume(failure) { () throws(VolumeError) in
            try container.rename(VolumeNaming.staging(volumes.leaf), to: volumes.leaf)
            if let cloneVolume = volumes.clone { try container.rename(VolumeNaming.staging(cloneVolume), to: cloneVolume) }
            try container.sync()
        }
        try faultPoint.check("snapshot:renamed")
        let parentUUID = container.naming.vdi(of: parentVolume)?.uuid ?? ""
        var result = SnapshotResult()
        if baseUsed {
            var baseRecord = VDIRecord(
                uuid: base, nameLabel: "base copy", virtualSize: virtualSize,
                physicalUtilisation: volumeSize(volumes.base), readOnly: true, managed: false, hidden: true,
                parent: record.parent)
            baseRecord.smConfig["vdi_type"] = "vhd"
            if !record.parent.isEmpty { baseRecord.smConfig["vhd-parent"] = record.parent }
            result.baseCopy = baseRecord
        }
        if let cloneVolume = volumes.clone {
            var cloneRecord = VDIRecord(
                uuid: clone, nameLabel: names.nameLabel ?? record.nameLabel,
                nameDescription: names.nameDescription ?? record.nameDescription, type: record.type,
                virtualSize: virtualSize, physicalUtilisation: volumeSize(cloneVolume),
                isASnapshot: !isClone, snapshotOf: isClone ? "" : record.uuid,
                snapshotTime: isClone ? VDIRecord.neverSnapshotted : now, otherConfig: record.otherConfig,
                parent: parentUUID)
            cloneRecord.smConfig["vdi_type"] = "vhd"
            if !parentUUID.isEmpty { cloneRecord.smConfig["vhd-parent"] = parentUUID }
            result.newVDI = cloneRecord
        }
        let leafSize = volumeSize(volumes.leaf)
        let created = result
        try commit(marking: intent) { metadata in
            if let baseRecord = created.baseCopy { metadata.vdis[base] = baseRecord }
            if let cloneRecord = created.newVDI { metadata.vdis[clone] = cloneRecord }
            metadata.vdis[record.uuid]?.parent = parentUUID
            metadata.vdis[record.uuid]?.smConfig["vhd-parent"] = parentUUID.isEmpty ? nil : parentUUID
            metadata.vdis[record.uuid]?.virtualSize = virtualSize
            metadata.vdis[record.uuid]?.physicalUtilisation = leafSize
        }
        try faultPoint.check("snapshot:committed")
        return result
    }

    /// After the commit point: the base copy is hidden and deflated to what it uses, or
    /// dropped when it was empty. Idempotent, and needs no free space. Returns the base copy's
    /// volume size after, when it is kept.
    @discardableResult
    func finishSnapshot(_ volumes: SnapshotVolumes, baseUsed: Bool) throws(SRError) -> UInt64? {
        var baseSize: UInt64?
        if baseUsed, container.exists(volumes.base) {
            let store = try EngineFailure.volume(.vdiSnapshot) { () throws(VolumeError) in
                try container.open(volumes.base, writable: true)
            }
            try EngineFailure.vhd("vdi_snapshot") { () throws(VHDError) in
                try HiddenFlag.set(true, store: store, name: volumes.base)
            }
            baseSize = try deflate(volumes.base, failure: .vdiSnapshot)
        }
        try EngineFailure.volume(.vdiSnapshot) { () throws(VolumeError) in
            if !baseUsed { try container.remove(volumes.base) }
            try container.remove(VolumeNaming.staging(volumes.leaf))
            if let clone = volumes.clone { try container.remove(VolumeNaming.staging(clone)) }
            try container.sync()
        }
        try faultPoint.check("snapshot:hidden")
        return baseSize
    }

    /// Before the commit point: the VDI gets its old leaf back (the base copy is it, under a
    /// second name or renamed) and every new volume goes. Renames and removals only, so it
    /// works on a full SR.
    func undoSnapshot(_ volumes: SnapshotVolumes) throws(SRError) {
        try EngineFailure.volume(.vdiSnapshot) { () throws(VolumeError) in
            try container.remove(VolumeNaming.staging(volumes.leaf))
            if let clone = volumes.clone {
                try container.remove(VolumeNaming.staging(clone))
                try container.remove(clone)
            }
            try restore(volumes.base, as: volumes.leaf)
            try container.sync()
        }
    }

    /// Gives `volume` back the content kept under `saved` (the old leaf a snapshot, revert or
    /// replacement set aside), dropping what took `volume`'s name since. Before that new leaf
    /// took the name, `volume` is `saved` itself (a hard link) or absent (renamed away); after,
    /// it is a different volume. Repeating it after a crash part-way finishes it.
    func restore(_ saved: String, as volume: String) throws(VolumeError) {
        guard container.exists(saved) else { return }
        if container.exists(volume) {
            if container.isSameVolume(volume, saved) { return try container.remove(saved) }
            try container.remove(volume)
        }
        try container.rename(saved, to: volume)
    }

    /// Moves `leaf`'s content to the name `saved` and gives `leaf` the staged volume's content:
    /// by a hard link and one replacing rename where the container has links (the VDI's name
    /// always names a whole leaf), else by two renames. Undone by `restore(saved, as: leaf)`.
    func switchLeaf(_ leaf: String, from staging: String, saving saved: String) throws(VolumeError) {
        try container.remove(saved)
        if container.supportsLinks {
            try container.link(leaf, as: saved)
        } else {
            try container.rename(leaf, to: saved)
        }
        try container.rename(staging, to: leaf)
        try container.sync()
    }

    /// The volume new children link to: the base copy, or (blktap's rule) its parent when the
    /// base copy is an empty differencing disk.
    func linkTarget(forBase baseVolume: String, failure: SRErrorCode) throws(SRError) -> String {
        let store = try EngineFailure.volume(failure) { () throws(VolumeError) in try container.open(baseVolume, writable: false) }
        let reference = try EngineFailure.vhd("vdi_snapshot") { () throws(VHDError) -> String? in
            try ImageSummary.read(store: store, name: baseVolume).parentReference
        }
        guard let reference, try holdsNoBlock(store, name: baseVolume, command: "vdi_snapshot") else { return baseVolume }
        return VolumeNaming.volume(ofLocator: reference)
    }

    /// Creates `volume` as an empty differencing VHD whose parent is the volume `parent`, with
    /// a BAT of `leafCapacity(for: size)` so it can grow online. A ready spare of that capacity
    /// is taken when there is one (only its headers are written); else the leaf is made whole.
    func createChild(_ volume: String, of parent: String, size: UInt64, failure: SRErrorCode) throws(SRError) {
        let parentStore = try EngineFailure.volume(failure) { () throws(VolumeError) in try container.open(parent, writable: false) }
        try? container.remove(volume)
        let parentUUID = try EngineFailure.vhd("vdi_snapshot") { () throws(VHDError) in
            try ImageSummary.read(store: parentStore, name: parent).uuid
        }
        let spec = ParentSpec(uuid: parentUUID, timestamp: .now(), name: parent, relativePath: container.locatorPath(for: parent))
        let options = Create.Options(virtualSize: size, preallocatedSize: leafCapacity(for: size), parent: spec)
        if container.volumesGrowOnWrite, spares.take(capacity: leafCapacity(for: size), as: volume) {
            do {
                let store = try container.open(volume, writable: true)
                try Create.reuse(emptyImageOn: store, options: options)
                return
            } catch {
                // A spare that is not what its name promises is dropped; the leaf is made whole.
                try? container.remove(volume)
            }
        }
        let store = try EngineFailure.volume(failure) { () throws(VolumeError) in
            try container.create(volume, size: initialVolumeSize(.vhd, options: options))
        }
        do throws(VHDError) { try Create.write(on: store, options: options) } catch {
            try? container.remove(volume)
            throw SRError(vhd: error, command: "vdi_snapshot")
        }
    }

    /// The VHD chain depth of a VDI as its records link it (no I/O), bounded against loops.
    func chainDepth(_ uuid: String) -> Int {
        let records = metadata.vdis
        var depth = 1
        var current = records[uuid]?.parent ?? ""
        while !current.isEmpty, depth <= records.count {
            depth += 1
            current = records[current]?.parent ?? ""
        }
        return depth
    }

    func volumeSize(_ volume: String) -> UInt64 {
        (try? container.open(volume, writable: false).size) ?? 0
    }
}
