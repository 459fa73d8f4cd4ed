import BlockIO
import VHD
import VHDFormat

extension SREngine {
    /// Grows a VDI to `size` (rounded up to 2 MiB). Online (`online`, the VDI in use), only a
    /// VHD whose BAT already has room can grow; offline, a full journaled resize moves blocks
    /// when it must. Shrinking is refused (`VDISize`).
    public func resize(_ uuid: String, to size: UInt64, online: Bool = false) throws(SRError) -> VDIRecord {
        let record = try vdi(uuid)
        let newSize = try Self.roundedVDISize(size)
        guard newSize >= record.virtualSize else {
            throw EngineFailure.error("VDISize", "shrinking \(uuid) from \(record.virtualSize) to \(newSize) is not supported")
        }
        let command = online ? "vdi_resize_online" : "vdi_resize"
        let volume = VolumeNaming.volume(for: uuid, type: record.volumeType)
        if record.volumeType == .raw {
            guard !online else { throw EngineFailure.error("VDIResize", "raw VDIs cannot grow online") }
            try EngineFailure.volume("VDIResize") { () throws(VolumeError) in try container.resize(volume, to: newSize) }
        } else {
            let store = try openVolume(record, writable: true)
            let image = try EngineFailure.vhd(command) { () throws(VHDError) in
                try Image.open(store: store, name: volume, options: .readWrite)
            }
            let capacity = UInt64(image.header?.maxTableEntries ?? 0) * image.blockSize
            if newSize <= capacity {
                try EngineFailure.vhd(command) { () throws(VHDError) in try Resize.fast(image, newSize: newSize) }
            } else if online {
                throw EngineFailure.error("VDIResize", "online growth of \(uuid) is limited to \(capacity) bytes (its preallocated BAT)")
            } else {
                try journaledResize(volume: volume, store: store, newSize: newSize)
            }
        }
        try commit { metadata in
            metadata.vdis[uuid]?.virtualSize = newSize
            metadata.vdis[uuid]?.physicalUtilisation = self.volumeSize(volume)
        }
        return try vdi(uuid)
    }

    /// A full resize journaled in the volume `.journal-<volume>`, kept until the resize is
    /// complete so that the next load can revert an interrupted one.
    func journaledResize(volume: String, store: any BlockStore, newSize: UInt64) throws(SRError) {
        let journalVolume = ".journal-" + volume
        let journalStore = try EngineFailure.volume("VDIResize") { () throws(VolumeError) in
            try container.create(journalVolume, size: 0)
        }
        let faults = faultPoint
        try EngineFailure.vhd("vdi_resize") { () throws(VHDError) in
            try Resize.journaled(store: store, name: volume, newSize: newSize, journal: journalStore) { step throws(VHDError) in
                do throws(SRError) { try faults.check("resize:" + step.rawValue) } catch {
                    throw VHDError.invalidArgument(error.faultString)
                }
            }
        }
        try EngineFailure.volume("VDIResize") { () throws(VolumeError) in
            try container.remove(journalVolume)
            try container.sync()
        }
    }
}
