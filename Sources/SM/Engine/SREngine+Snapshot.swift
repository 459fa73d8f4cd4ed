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

    /// Snapshots (or clones) VDI `uuid` with the reference's semantics: the VDI keeps its
    /// uuid, its current content becomes a hidden read-only base copy, and the VDI (and for a
    /// double snapshot a second new VDI) become empty children of it. An empty base copy with a
    /// parent is skipped and dropped. Crash-safe: the base copy is a hard link made before
    /// anything else, and the switch of the VDI's name to its new leaf is one rename; an
    /// interrupted snapshot is rolled back before that rename and forward after it.
    public func snapshot(_ uuid: String, type: SnapshotType = .double, isClone: Bool = false, now: String)
        throws(SRError) -> SnapshotResult
    {
        let command = isClone ? "vdi_clone" : "vdi_snapshot"
        let record = try vdi(uuid)
        guard record.volumeType == .vhd else {
            throw EngineFailure.error(isClone ? "VDIClone" : "VDISnapshot", "only VHD VDIs can be snapshotted; \(uuid) is raw")
        }
        guard !record.hidden else { throw EngineFailure.error("VDISnapshot", "VDI \(uuid) is hidden") }
        let depth = chainDepth(uuid)
        if depth >= chainDepthLimit {
            throw EngineFailure.error("SnapshotChainTooLong", "VDI \(uuid) has a chain of \(depth) (limit \(chainDepthLimit))")
        }
        let base = Identifier.newUUID()
        let clone = type == .double ? Identifier.newUUID() : ""
        let intent = try EngineFailure.wrap(command) { () throws in
            try journal.begin(Intent(kind: "snapshot", vdiUUID: uuid, parameters: ["base": base, "clone": clone, "type": type.rawValue, "isClone": isClone ? "true" : "false", "now": now]))
        }
        try performSnapshot(record, base: base, clone: clone, command: command)
        let result = try finishSnapshot(uuid: uuid, base: base, clone: clone, isClone: isClone, now: now)
        try EngineFailure.wrap(command) { () throws in try journal.complete(intent.id) }
        return result
    }

    /// Steps up to and including the commit point (the rename of the VDI's new leaf).
    func performSnapshot(_ record: VDIRecord, base: String, clone: String, command: String) throws(SRError) {
        let leaf = VolumeNaming.volume(for: record.uuid, type: .vhd)
        let baseVolume = VolumeNaming.volume(for: base, type: .vhd)
        let staging = leaf + ".new"
        try EngineFailure.volume(command == "vdi_clone" ? "VDIClone" : "VDISnapshot") { () throws(VolumeError) in
            try container.link(leaf, as: baseVolume)
            try container.sync()
        }
        try faultPoint.check("snapshot:linked")
        let parentVolume = try linkTarget(forBase: baseVolume, command: command)
        try createChild(staging, of: parentVolume, size: record.virtualSize, command: command)
        try faultPoint.check("snapshot:created")
        try EngineFailure.volume("VDISnapshot") { () throws(VolumeError) in
            try container.rename(staging, to: leaf)
            try container.sync()
        }
        try faultPoint.check("snapshot:renamed")
    }

    /// The volume new children link to: the base copy, or (blktap's rule) its parent when the
    /// base copy is an empty differencing disk.
    func linkTarget(forBase baseVolume: String, command: String) throws(SRError) -> String {
        let store = try EngineFailure.volume("VDISnapshot") { () throws(VolumeError) in try container.open(baseVolume, writable: false) }
        return try EngineFailure.vhd(command) { () throws(VHDError) -> String in
            let summary = try ImageSummary.read(store: store, name: baseVolume)
            guard summary.isEmpty, let reference = summary.parentReference else { return baseVolume }
            return VolumeNaming.volume(ofLocator: reference)
        }
    }

    /// Creates `volume` as an empty differencing VHD whose parent is the volume `parent`, with
    /// a BAT of `leafCapacity(for: size)` so it can grow online. A ready spare of that capacity
    /// is taken when there is one (only its headers are written); else the leaf is made whole.
    func createChild(_ volume: String, of parent: String, size: UInt64, command: String) throws(SRError) {
        let parentStore = try EngineFailure.volume("VDISnapshot") { () throws(VolumeError) in try container.open(parent, writable: false) }
        try? container.remove(volume)
        let parentUUID = try EngineFailure.vhd(command) { () throws(VHDError) in
            try ImageSummary.read(store: parentStore, name: parent).uuid
        }
        let spec = ParentSpec(uuid: parentUUID, timestamp: .now(), name: parent, relativePath: container.locatorPath(for: parent))
        let options = Create.Options(virtualSize: size, preallocatedSize: Self.leafCapacity(for: size), parent: spec)
        if spares.take(capacity: Self.leafCapacity(for: size), as: volume) {
            do {
                let store = try container.open(volume, writable: true)
                try Create.reuse(emptyImageOn: store, options: options)
                return
            } catch {
                // A spare that is not what its name promises is dropped; the leaf is made whole.
                try? container.remove(volume)
            }
        }
        let store = try EngineFailure.volume("VDISnapshot") { () throws(VolumeError) in try container.create(volume, size: 0) }
        try EngineFailure.vhd(command) { () throws(VHDError) in try Create.write(on: store, options: options) }
    }

    /// Steps after the commit point; idempotent, so recovery can run them again.
    func finishSnapshot(uuid: String, base: String, clone: String, isClone: Bool, now: String) throws(SRError) -> SnapshotResult {
        let command = isClone ? "vdi_clone" : "vdi_snapshot"
        let record = try vdi(uuid)
        let baseVolume = VolumeNaming.volume(for: base, type: .vhd)
        // The new leaf names the volume the children link to: the base copy, or its parent
        // when the base copy was empty. Reading it (not re-deriving it) keeps this idempotent.
        let parentVolume = try leafParentVolume(VolumeNaming.volume(for: uuid, type: .vhd))
        let baseUsed = parentVolume == baseVolume
        if !clone.isEmpty {
            let cloneVolume = VolumeNaming.volume(for: clone, type: .vhd)
            if !cloneIsValid(cloneVolume, parent: parentVolume) {
                try createChild(cloneVolume, of: parentVolume, size: record.virtualSize, command: command)
            }
            try faultPoint.check("snapshot:cloned")
        }
        let parentUUID = VolumeNaming.vdi(of: parentVolume)?.uuid ?? ""
        if baseUsed {
            let store = try EngineFailure.volume("VDISnapshot") { () throws(VolumeError) in try container.open(baseVolume, writable: true) }
            try EngineFailure.vhd(command) { () throws(VHDError) in try HiddenFlag.set(true, store: store, name: baseVolume) }
        } else {
            try EngineFailure.volume("VDISnapshot") { () throws(VolumeError) in try container.remove(baseVolume) }
        }
        try EngineFailure.volume("VDISnapshot") { () throws(VolumeError) in try container.sync() }
        try faultPoint.check("snapshot:hidden")
        var result = SnapshotResult()
        try commit { metadata in
            let grandparent = record.parent
            if baseUsed {
                var baseRecord = VDIRecord(
                    uuid: base, nameLabel: "base copy", virtualSize: record.virtualSize,
                    physicalUtilisation: self.volumeSize(baseVolume), readOnly: true, managed: false, hidden: true,
                    parent: grandparent)
                baseRecord.smConfig["vdi_type"] = "vhd"
                if !grandparent.isEmpty { baseRecord.smConfig["vhd-parent"] = grandparent }
                metadata.vdis[base] = baseRecord
                result.baseCopy = baseRecord
            }
            metadata.vdis[uuid]?.parent = parentUUID
            metadata.vdis[uuid]?.smConfig["vhd-parent"] = parentUUID.isEmpty ? nil : parentUUID
            metadata.vdis[uuid]?.physicalUtilisation = self.volumeSize(VolumeNaming.volume(for: uuid, type: .vhd))
            if !clone.isEmpty {
                var cloneRecord = VDIRecord(
                    uuid: clone, nameLabel: record.nameLabel, nameDescription: record.nameDescription, type: record.type,
                    virtualSize: record.virtualSize, physicalUtilisation: self.volumeSize(VolumeNaming.volume(for: clone, type: .vhd)),
                    isASnapshot: !isClone, snapshotOf: isClone ? "" : uuid, snapshotTime: isClone ? VDIRecord.neverSnapshotted : now,
                    otherConfig: record.otherConfig, parent: parentUUID)
                cloneRecord.smConfig["vdi_type"] = "vhd"
                if !parentUUID.isEmpty { cloneRecord.smConfig["vhd-parent"] = parentUUID }
                metadata.vdis[clone] = cloneRecord
                result.newVDI = cloneRecord
            }
        }
        return result
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

    func leafParentVolume(_ leaf: String) throws(SRError) -> String {
        let store = try EngineFailure.volume("VDISnapshot") { () throws(VolumeError) in try container.open(leaf, writable: false) }
        let reference = try EngineFailure.vhd("vdi_snapshot") { () throws(VHDError) in
            try ImageSummary.read(store: store, name: leaf).parentReference
        }
        guard let reference, !reference.isEmpty else {
            throw EngineFailure.error("VDISnapshot", "the new leaf \(leaf) has no parent")
        }
        return VolumeNaming.volume(ofLocator: reference)
    }

    func cloneIsValid(_ volume: String, parent: String) -> Bool {
        guard let store = try? container.open(volume, writable: false),
            let summary = try? ImageSummary.read(store: store, name: volume)
        else { return false }
        return summary.parentReference.map { $0.hasSuffix(parent) } ?? false
    }

    func volumeSize(_ volume: String) -> UInt64 {
        (try? container.open(volume, writable: false).size) ?? 0
    }
}
