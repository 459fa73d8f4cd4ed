import BlockIO
import VHD
import VHDFormat

extension SREngine {
    /// Finishes or undoes what a crash interrupted: every pending intent, and every resize
    /// journal left in the container.
    func recover() throws(SRError) {
        let pending = try EngineFailure.wrap("SRUnavailable") { () throws in try journal.pending() }
        for intent in pending.intents {
            switch intent.kind {
            case "snapshot": try recoverSnapshot(intent)
            case "revert": try recoverRevert(intent)
            default: break
            }
            try EngineFailure.wrap("SRUnavailable") { () throws in try journal.complete(intent.id) }
        }
        try recoverResizes()
    }

    /// Before the leaf's rename (the staging volume still exists, or the VDI's name is still
    /// the base copy's volume) the snapshot is undone; after it, finished.
    func recoverSnapshot(_ intent: Intent) throws(SRError) {
        let uuid = intent.vdiUUID
        let base = intent.parameters["base"] ?? ""
        let clone = intent.parameters["clone"] ?? ""
        let leaf = VolumeNaming.volume(for: uuid, type: .vhd)
        let baseVolume = VolumeNaming.volume(for: base, type: .vhd)
        let staging = leaf + ".new"
        // Committed means the leaf's name already points at the new, empty differencing leaf:
        // either the base copy is a separate volume, or it was empty and dropped (the leaf is
        // then an empty child of the base's parent, which is the same content either way).
        let committed: Bool
        if container.exists(staging) || !container.exists(leaf) {
            committed = false
        } else if container.exists(baseVolume) {
            committed = !container.isSameVolume(leaf, baseVolume)
        } else {
            committed = leafIsEmptyDifferencing(leaf)
        }
        if committed {
            _ = try finishSnapshot(
                uuid: uuid, base: base, clone: clone, isClone: intent.parameters["isClone"] == "true",
                now: intent.parameters["now"] ?? VDIRecord.neverSnapshotted)
            return
        }
        try EngineFailure.volume("SRUnavailable") { () throws(VolumeError) in
            try container.remove(staging)
            if !clone.isEmpty { try container.remove(VolumeNaming.volume(for: clone, type: .vhd)) }
            if container.exists(baseVolume) && container.isSameVolume(leaf, baseVolume) { try container.remove(baseVolume) }
            try container.sync()
        }
    }

    /// Whether the leaf is an empty differencing disk, as a freshly committed one is.
    func leafIsEmptyDifferencing(_ leaf: String) -> Bool {
        guard let store = try? container.open(leaf, writable: false),
            let image = try? Image.open(store: store, name: leaf)
        else { return false }
        return image.isDifferencing && image.bat.allocatedCount == 0
    }

    /// A revert is undone before its rename (the staging volume is removed) and complete after.
    func recoverRevert(_ intent: Intent) throws(SRError) {
        let leaf = VolumeNaming.volume(for: intent.vdiUUID, type: .vhd)
        try EngineFailure.volume("SRUnavailable") { () throws(VolumeError) in
            try container.remove(leaf + ".new")
            try container.sync()
        }
        _ = try? refreshVDI(intent.vdiUUID)
        if let parent = try? leafParent(leaf) {
            try commit { metadata in
                metadata.vdis[intent.vdiUUID]?.parent = parent
                metadata.vdis[intent.vdiUUID]?.smConfig["vhd-parent"] = parent.isEmpty ? nil : parent
            }
        }
    }

    func leafParent(_ leaf: String) throws -> String {
        let store = try container.open(leaf, writable: false)
        let reference = try ImageSummary.read(store: store, name: leaf).parentReference ?? ""
        return VolumeNaming.vdi(of: VolumeNaming.volume(ofLocator: reference))?.uuid ?? ""
    }

    /// Reverts every resize whose journal volume is still present, then removes the journal.
    func recoverResizes() throws(SRError) {
        let volumes = try EngineFailure.volume("SRUnavailable") { () throws(VolumeError) in try container.list() }
        for journalVolume in volumes.map(\.name) where journalVolume.hasPrefix(".journal-") {
            let volume = String(journalVolume.dropFirst(".journal-".count))
            guard container.exists(volume) else { continue }
            let journalStore = try EngineFailure.volume("SRUnavailable") { () throws(VolumeError) in try container.open(journalVolume, writable: false) }
            if journalStore.size > 0 {
                let store = try EngineFailure.volume("SRUnavailable") { () throws(VolumeError) in try container.open(volume, writable: true) }
                try EngineFailure.vhd("sr_attach") { () throws(VHDError) in try Journal.revert(vhd: store, journal: journalStore) }
            }
            try EngineFailure.volume("SRUnavailable") { () throws(VolumeError) in
                try container.remove(journalVolume)
                try container.sync()
            }
            if let uuid = VolumeNaming.vdi(of: volume)?.uuid { _ = try? refreshVDI(uuid) }
        }
    }
}
