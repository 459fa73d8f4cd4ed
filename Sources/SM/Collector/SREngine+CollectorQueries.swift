import VHD

/// What the collector asks of the engine beyond its operations.
extension SREngine {
    /// The bytes of data VDI `uuid`'s own VHD holds (its allocated blocks).
    func allocatedBytes(_ uuid: String) throws(SRError) -> UInt64 {
        let record = try vdi(uuid)
        let store = try openVolume(record, writable: false)
        return try EngineFailure.vhd("sr_gc") { () throws(VHDError) in
            let image = try Image.open(store: store, name: record.location)
            return UInt64(image.bat.allocatedCount) * image.blockSize
        }
    }

    /// The VDIs an unfinished collector intent is about, the VDI and its parent: left alone
    /// until that intent is settled.
    func collectorIntentVDIs() -> Set<String> {
        guard let pending = try? journal.pending() else { return [] }
        var busy: Set<String> = []
        for intent in pending.intents {
            switch EngineOperation(intent, naming: container.naming) {
            case .coalesce(let parent), .relink(let parent), .leafCoalesce(let parent):
                busy.insert(intent.vdiUUID)
                busy.insert(parent)
            default:
                continue
            }
        }
        return busy
    }
}
