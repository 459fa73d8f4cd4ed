import BlockIO
import VHD
import VHDFormat

/// The steps inner and leaf coalesce share: opening and checking the pair, the space check,
/// readying the parent, the block copy.
extension SREngine {
    /// A child VHD and its parent, both opened with every structure checked (a VHD that fails
    /// is refused, naming it, before anything is written).
    struct CoalescePair {
        let child: Image
        let parent: Image
    }

    func coalescePair(child: String, parent: String) throws(SRError) -> CoalescePair {
        let childVolume = container.naming.volume(for: child, type: .vhd)
        let parentVolume = container.naming.volume(for: parent, type: .vhd)
        let stores = try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in
            (try container.open(childVolume, writable: false), try container.open(parentVolume, writable: false))
        }
        let pair = try EngineFailure.vhd("sr_gc") { () throws(VHDError) in
            CoalescePair(
                child: try Image.open(store: stores.0, name: childVolume), parent: try Image.open(store: stores.1, name: parentVolume))
        }
        guard pair.child.isDifferencing, !pair.child.hasRawParent, pair.child.header?.parentUUID == pair.parent.uuid else {
            throw EngineFailure.error(
                .smGeneral, "VDI \(child) is not a differencing disk of \(parent) (its header names another parent)")
        }
        return pair
    }

    /// `SRNoSpace` (44) unless the SR has `bytes` free.
    func requireSpace(_ bytes: UInt64, for what: String) throws(SRError) {
        guard bytes > 0 else { return }
        let free = try EngineFailure.volume(.srUnavailable) { () throws(VolumeError) in try container.space().free }
        guard free >= bytes else {
            throw EngineFailure.error(.srNoSpace, "\(what) needs \(bytes) bytes; the SR has \(free) free")
        }
    }

    /// Makes the parent ready for the child's blocks: its volume grown to `volumeSize` where
    /// volumes do not grow on write, its virtual size to `virtualSize` (within its BAT: a
    /// parent whose BAT is too small is refused, naming the sizes).
    func prepareParent(_ parent: String, image: Image, volumeSize: UInt64, virtualSize: UInt64) throws(SRError) {
        let volume = container.naming.volume(for: parent, type: .vhd)
        try grow(volume, of: image, to: volumeSize, failure: .smGeneral)
        guard image.virtualSize < virtualSize else { return }
        let store = try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in try container.open(volume, writable: true) }
        try EngineFailure.vhd("sr_gc") { () throws(VHDError) in
            try Resize.fast(Image.open(store: store, name: volume, options: .readWrite), newSize: virtualSize)
        }
    }

    /// Copies the blocks the child holds into the parent, flushed at the end (blktap `vhd-util
    /// coalesce`); returns the sectors copied. Errors name both VDIs.
    func copyBlocks(
        of child: String, into parent: String, progress: ((Double) -> Void)?, shouldStop: (() -> Bool)?
    ) throws(SRError) -> UInt64 {
        let childVolume = container.naming.volume(for: child, type: .vhd)
        let parentVolume = container.naming.volume(for: parent, type: .vhd)
        do throws(SRError) {
            let stores = try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in
                (try container.open(childVolume, writable: false), try container.open(parentVolume, writable: true))
            }
            return try EngineFailure.vhd("sr_gc") { () throws(VHDError) in
                let source = try Image.open(store: stores.0, name: childVolume)
                let target = try Image.open(
                    store: stores.1, name: parentVolume, options: .init(writable: true, barriers: false))
                return try Coalesce.run(child: source, into: target, progress: progress, shouldStop: shouldStop)
            }
        } catch {
            throw SRError(code: error.code, opterr: "coalescing VDI \(child) into \(parent): \(error.opterr ?? error.faultString)")
        }
    }
}
