import BlockIO
import VHD
import VHDFormat

extension SREngine {
    /// Grows a VDI to `size` (rounded up to 2 MiB). Online (`online`, the VDI in use), only a
    /// VHD whose BAT already has room can grow; offline, a full journaled resize moves blocks
    /// when it must. Shrinking is refused (`VDISize`).
    ///
    /// Journaled, with the metadata save as the commit point: a resize that fails before it
    /// puts the volume back as it was (the old footer, or the block journal's revert), and one
    /// interrupted before it is settled by the next load, which records the size the volume
    /// really has, so a record never keeps a stale size.
    public func resize(_ uuid: String, to size: UInt64, online: Bool = false) throws(SRError) -> VDIRecord {
        try requireRecovered(.vdiResize)
        let record = try vdi(uuid)
        let newSize = try Self.roundedVDISize(size)
        guard newSize >= record.virtualSize else {
            throw EngineFailure.error(.vdiSize, "shrinking \(uuid) from \(record.virtualSize) to \(newSize) is not supported")
        }
        if record.volumeType == .raw, online { throw EngineFailure.error(.vdiResize, "raw VDIs cannot grow online") }
        let volume = container.naming.volume(for: uuid, type: record.volumeType)
        let intent = try beginIntent(.resize(size: newSize), vdi: uuid, failure: .vdiResize)
        var undo: (() throws(SRError) -> Void)?
        do throws(SRError) {
            try resizeVolume(record, volume: volume, to: newSize, online: online, undo: &undo)
            try faultPoint.check("resize:resized")
            let physical = volumeSize(volume)
            try commit(marking: intent) { metadata in
                metadata.vdis[uuid]?.virtualSize = newSize
                metadata.vdis[uuid]?.physicalUtilisation = physical
            }
        } catch {
            if !isCommitted(intent), undo == nil || (try? undo?()) != nil { completeIntent(intent) }
            throw error
        }
        if (try? removeResizeJournal(volume)) != nil { completeIntent(intent) }
        return try vdi(uuid)
    }

    /// Resizes the volume itself, setting `undo` to how to put it back (before the commit
    /// point) before it changes anything, so even a resize that fails half-way is undone.
    func resizeVolume(
        _ record: VDIRecord, volume: String, to newSize: UInt64, online: Bool,
        undo: inout (() throws(SRError) -> Void)?
    ) throws(SRError) {
        if record.volumeType == .raw {
            let oldSize = volumeSize(volume)
            undo = { () throws(SRError) in
                try EngineFailure.volume(.vdiResize) { () throws(VolumeError) in
                    try self.container.resize(volume, to: oldSize)
                }
            }
            try EngineFailure.volume(.vdiResize) { () throws(VolumeError) in try container.resize(volume, to: newSize) }
            return
        }
        let command = online ? "vdi_resize_online" : "vdi_resize"
        // A fixed-size volume grows first (LVHD inflates before `vhd-util resize`); it stays
        // grown if the resize is undone, which costs space but never data.
        try inflate(volume, forVirtualSize: newSize, failure: .vdiResize)
        try faultPoint.check("resize:inflated")
        let store = try openVolume(record, writable: true)
        let image = try EngineFailure.vhd(command) { () throws(VHDError) in
            try Image.open(store: store, name: volume, options: .readWrite)
        }
        let capacity = UInt64(image.header?.maxTableEntries ?? 0) * image.blockSize
        if newSize <= capacity {
            let footer = image.footer
            undo = { () throws(SRError) in
                try EngineFailure.vhd(command) { () throws(VHDError) in try Resize.restore(image, footer: footer) }
            }
            try EngineFailure.vhd(command) { () throws(VHDError) in try Resize.fast(image, newSize: newSize) }
            return
        }
        guard !online else {
            throw EngineFailure.error(
                .vdiResize, "online growth of \(record.uuid) is limited to \(capacity) bytes (its preallocated BAT)")
        }
        undo = { () throws(SRError) in try self.revertResizeJournal(volume) }
        try journaledResize(volume: volume, store: store, newSize: newSize)
    }

    /// A full resize journaled in the volume `.journal-<volume>`, kept whole (revertible) until
    /// the resize is committed so that a failure or the next load can revert it.
    func journaledResize(volume: String, store: any BlockStore, newSize: UInt64) throws(SRError) {
        let journalVolume = Self.resizeJournal(of: volume)
        // A fixed-size journal must hold whatever the resize moves: at most all the VHD uses.
        let journalSize = container.volumesGrowOnWrite ? 0 : store.size + (1 << 20)
        let journalStore = try EngineFailure.volume(.vdiResize) { () throws(VolumeError) in
            try container.remove(journalVolume)
            return try container.create(journalVolume, size: journalSize, tags: container.supportsTags ? ["jvhd"] : [])
        }
        let faults = faultPoint
        try EngineFailure.vhd("vdi_resize") { () throws(VHDError) in
            try Resize.journaled(store: store, name: volume, newSize: newSize, journal: journalStore, keepingJournal: true) {
                step throws(VHDError) in
                do throws(SRError) { try faults.check("resize:" + step.rawValue) } catch {
                    throw VHDError.invalidArgument(error.faultString)
                }
            }
        }
    }

    /// The volume that journals a full resize of `volume`.
    static func resizeJournal(of volume: String) -> String { ".journal-" + volume }

    /// Reverts the full resize journaled for `volume`, when a journal with content is there,
    /// then removes the journal.
    func revertResizeJournal(_ volume: String) throws(SRError) {
        let journalVolume = Self.resizeJournal(of: volume)
        guard container.exists(journalVolume), container.exists(volume) else { return try removeResizeJournal(volume) }
        let journalStore = try EngineFailure.volume(.srUnavailable) { () throws(VolumeError) in
            try container.open(journalVolume, writable: false)
        }
        if journalStore.size > 0 {
            let store = try EngineFailure.volume(.srUnavailable) { () throws(VolumeError) in
                try container.open(volume, writable: true)
            }
            try EngineFailure.vhd("sr_attach") { () throws(VHDError) in try Journal.revert(vhd: store, journal: journalStore) }
        }
        try removeResizeJournal(volume)
    }

    func removeResizeJournal(_ volume: String) throws(SRError) {
        try EngineFailure.volume(.vdiResize) { () throws(VolumeError) in
            try container.remove(Self.resizeJournal(of: volume))
            try container.sync()
        }
    }
}
