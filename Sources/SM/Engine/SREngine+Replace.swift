import BlockIO
import VHD
import VHDFormat

extension SREngine {
    /// Where a content replacement writes: a new leaf over the VDI's parent (a VHD VDI), or a
    /// new raw volume of the VDI's size.
    public enum StagedContent {
        case chain(Chain)
        case raw(any BlockStore)
    }

    /// Replaces VDI `uuid`'s content with what `fill` writes into a staged copy, all or
    /// nothing: `fill` writes a new leaf (over the VDI's parent, so only what differs from it
    /// is stored) or a new raw volume under the staging name, and the VDI switches to it the
    /// way a revert does (`switchLeaf`: the old leaf kept as `<leaf>.old` until the metadata
    /// save commits the switch). A replacement that fails or is killed leaves the VDI's old
    /// content whole.
    public func replaceContent(_ uuid: String, fill: (StagedContent) throws -> Void) throws(SRError) -> VDIRecord {
        try requireRecovered(.vdiUnavailable)
        let record = try vdi(uuid)
        guard !record.hidden, !metadata.vdis.values.contains(where: { $0.parent == uuid }) else {
            throw EngineFailure.error(.vdiInUse, "VDI \(uuid) is a base copy other VDIs read through")
        }
        let leaf = container.naming.volume(for: uuid, type: record.volumeType)
        let intent = try beginIntent(.replace, vdi: uuid, failure: .vdiUnavailable)
        do throws(SRError) {
            try stage(record, leaf: leaf, fill: fill)
            try faultPoint.check("replace:written")
            try EngineFailure.volume(.vdiUnavailable) { () throws(VolumeError) in
                try switchLeaf(leaf, from: VolumeNaming.staging(leaf), saving: VolumeNaming.previous(leaf))
            }
            try faultPoint.check("replace:renamed")
            let physical = volumeSize(leaf)
            try commit(marking: intent) { $0.vdis[uuid]?.physicalUtilisation = physical }
            try faultPoint.check("replace:committed")
        } catch {
            if !isCommitted(intent), (try? undoRevert(leaf)) != nil { completeIntent(intent) }
            throw error
        }
        if (try? finishRevert(leaf)) != nil { completeIntent(intent) }
        return try vdi(uuid)
    }

    /// Writes the new content under the staging name, flushed.
    private func stage(_ record: VDIRecord, leaf: String, fill: (StagedContent) throws -> Void) throws(SRError) {
        let staging = VolumeNaming.staging(leaf)
        do {
            switch record.volumeType {
            case .raw:
                let store = try container.create(staging, size: record.virtualSize)
                try fill(.raw(store))
                try store.flush()
            case .vhd:
                if record.parent.isEmpty {
                    let options = Create.Options(
                        virtualSize: record.virtualSize, preallocatedSize: leafCapacity(for: record.virtualSize))
                    let store = try container.create(staging, size: initialVolumeSize(.vhd, options: options))
                    try Create.write(on: store, options: options)
                } else {
                    try createChild(
                        staging, of: container.naming.volume(for: record.parent, type: .vhd), size: record.virtualSize,
                        failure: .vdiUnavailable)
                }
                let store = try container.open(staging, writable: true)
                let image = try Image.open(store: store, name: leaf, options: .init(writable: true, barriers: false))
                let chain = try Chain.open(leaf: image, resolver: container.parentResolver, depthLimit: chainDepthLimit + 1)
                try fill(.chain(chain))
                try image.flush()
            }
        } catch let error as SRError {
            throw error
        } catch let error as VolumeError {
            throw EngineFailure.error(.vdiUnavailable, volume: error)
        } catch let error as VHDError {
            throw SRError(vhd: error, command: "vdi_update")
        } catch {
            throw EngineFailure.error(.vdiUnavailable, "\(error)")
        }
    }
}
