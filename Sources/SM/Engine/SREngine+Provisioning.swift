import BlockIO
import VHD
import VHDFormat

/// Sizing volumes that do not grow as written (LVs), at the points LVHD sizes them: a new VHD
/// volume is made big enough for every block of its virtual size (thick provisioning,
/// `calcSizeVHDLV`), a resize inflates first, and a base copy is deflated to what it uses
/// once it is read-only. Where volumes grow as written (files) every one of these is a no-op.
extension SREngine {
    /// The BAT capacity of a new leaf. Growable volumes: `SpareLeaves.capacity(for:)`. Fixed
    /// ones: the largest VDI, as LVHD preallocates every VHD's metadata for 2 TiB
    /// (`MSIZE_MB`), so a resize of a VHD on an LV never needs to move blocks.
    func leafCapacity(for size: UInt64) -> UInt64 {
        container.volumesGrowOnWrite ? Self.leafCapacity(for: size) : Self.maximumVDISize
    }

    /// The volume size a new VDI's volume is created with: nothing where volumes grow; a raw
    /// volume's size, or room for every block of a new VHD (`inflatedSize`), where they do not.
    func initialVolumeSize(_ type: VDIRecord.VolumeType, options: Create.Options) -> UInt64 {
        guard !container.volumesGrowOnWrite else { return 0 }
        guard type == .vhd else { return container.provisioning.rounded(options.virtualSize) }
        return inflatedSize(endOfHeaders: Create.emptyImageSize(options) - UInt64(Footer.size),
            virtualSize: options.virtualSize, blockSize: UInt64(options.blockSize))
    }

    /// LVHD's `calcSizeVHDLV`: the metadata, every block of `virtualSize` with its sector
    /// bitmap and the page alignment of its data, and the footer, in whole units.
    func inflatedSize(endOfHeaders: UInt64, virtualSize: UInt64, blockSize: UInt64) -> UInt64 {
        let blocks = (virtualSize + blockSize - 1) / blockSize
        let pageAlignedBitmap: UInt64 = 4096
        return container.provisioning.rounded(
            endOfHeaders + pageAlignedBitmap + blocks * (blockSize + pageAlignedBitmap) + UInt64(Footer.size))
    }

    /// Grows `volume` so its VHD can hold every block of `virtualSize` (LVHD's `inflate`): the
    /// volume grows, then the footer is written in its new last sector. Until then the VHD is
    /// read by the footer copy at offset 0, and the next load settles the footer
    /// (`settleFooters`) of an inflate a crash interrupted.
    func inflate(_ volume: String, forVirtualSize virtualSize: UInt64, failure: SRErrorCode) throws(SRError) {
        guard !container.volumesGrowOnWrite else { return }
        let store = try EngineFailure.volume(failure) { () throws(VolumeError) in try container.open(volume, writable: true) }
        let image = try EngineFailure.vhd("vdi_resize") { () throws(VHDError) in try Image.open(store: store, name: volume) }
        let needed = inflatedSize(endOfHeaders: image.endOfHeaders, virtualSize: virtualSize, blockSize: image.blockSize)
        try grow(volume, of: image, to: needed, failure: failure)
    }

    /// Grows the fixed-size `volume` holding `image` to `size` bytes (when smaller), the footer
    /// moved into its new last sector (`inflate`'s steps).
    func grow(_ volume: String, of image: Image, to size: UInt64, failure: SRErrorCode) throws(SRError) {
        guard !container.volumesGrowOnWrite, size > image.store.size else { return }
        let needed = container.provisioning.rounded(size)
        let footer = image.footer.encoded()
        try EngineFailure.volume(failure) { () throws(VolumeError) in try container.resize(volume, to: needed) }
        try faultPoint.check("inflate:grown")
        try EngineFailure.volume(failure) { () throws(VolumeError) in
            let grown = try container.open(volume, writable: true)
            try writeFooter(footer, of: volume, on: grown, endingAt: grown.size)
        }
    }

    /// Shrinks the volume of a read-only VHD to what the VHD uses (LVHD's `deflate`): the
    /// footer goes into the last sector of the smaller size first, then the volume shrinks,
    /// so the VHD ends in a footer at either size. Returns the volume's size after.
    @discardableResult
    func deflate(_ volume: String, failure: SRErrorCode) throws(SRError) -> UInt64 {
        let store = try EngineFailure.volume(failure) { () throws(VolumeError) in try container.open(volume, writable: true) }
        guard !container.volumesGrowOnWrite else { return store.size }
        let image = try EngineFailure.vhd("vdi_snapshot") { () throws(VHDError) in try Image.open(store: store, name: volume) }
        let target = container.provisioning.rounded(image.physicalUtilisation)
        guard target < store.size else { return store.size }
        try EngineFailure.volume(failure) { () throws(VolumeError) in
            try writeFooter(image.footer.encoded(), of: volume, on: store, endingAt: target)
            try container.resize(volume, to: target)
        }
        return target
    }

    /// Writes the encoded `footer` into the sector that ends at `end`, durably: where a VHD on
    /// a fixed-size volume of that size keeps it.
    private func writeFooter(_ footer: [UInt8], of volume: String, on store: any BlockStore, endingAt end: UInt64)
        throws(VolumeError)
    {
        do throws(BlockIOError) {
            try store.write(footer, at: end - UInt64(Footer.size))
            try store.flush()
        } catch {
            throw .io(container: container.name, volume: volume, error)
        }
    }

    /// Whether the differencing VHD on `store` holds no block, by its BAT (never by the
    /// volume's size, which on an inflated LV is the same empty or full).
    func holdsNoBlock(_ store: any BlockStore, name: String, command: String) throws(SRError) -> Bool {
        try EngineFailure.vhd(command) { () throws(VHDError) -> Bool in
            let image = try Image.open(store: store, name: name)
            return image.isDifferencing && image.bat.allocatedCount == 0
        }
    }
}
