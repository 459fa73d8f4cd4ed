/// Where a blktap-style image puts its metadata, and where blocks may go: the arithmetic of
/// `__vhd_create`, `vhd_end_of_headers` and `__vhd_io_allocate_block`, with no I/O.
public enum Layout {
    public static let headerOffset: UInt64 = 512
    public static let tableOffset: UInt64 = 1536
    /// The data area of a block starts on a page boundary: sectors per 4 KiB page.
    public static let sectorsPerPage: UInt64 = 8
    /// blktap writes three locators (MacX, W2ku, W2ru), one sector each.
    public static let blktapLocatorSize: UInt64 = 512
    public static let blktapLocatorCodes: [ParentLocator.PlatformCode] = [.macX, .w2ku, .w2ru]

    /// The offsets of a new dynamic or differencing image with `maxTableEntries` entries.
    public struct NewImage: Equatable, Sendable {
        public var batOffset: UInt64
        public var batmapHeaderOffset: UInt64
        public var batmapMapOffset: UInt64
        public var batmapMapSectors: UInt32
        /// Offsets of the locator data, one per locator written.
        public var locatorOffsets: [UInt64]
        /// The first byte after all metadata, where the first block may go.
        public var endOfHeaders: UInt64
    }

    /// The layout `__vhd_create` writes: BAT at 1536, batmap header after the padded BAT, map,
    /// then the locators of a differencing disk.
    public static func newImage(maxTableEntries: UInt32, locatorCount: Int) -> NewImage {
        let batEnd = tableOffset + BlockAllocationTable.paddedSize(entries: Int(maxTableEntries))
        let mapSectors = BatmapHeader.mapSectors(forBlocks: UInt64(maxTableEntries))
        let mapOffset = batEnd + UInt64(BatmapHeader.size)
        let locatorsStart = mapOffset + UInt64(mapSectors) * sectorSize
        let locatorOffsets = (0..<locatorCount).map { locatorsStart + UInt64($0) * blktapLocatorSize }
        return NewImage(
            batOffset: tableOffset, batmapHeaderOffset: batEnd, batmapMapOffset: mapOffset,
            batmapMapSectors: mapSectors, locatorOffsets: locatorOffsets,
            endOfHeaders: locatorsStart + UInt64(locatorCount) * blktapLocatorSize)
    }

    /// The first byte after all metadata (`vhd_end_of_headers`): the maximum of the header's
    /// end, the padded BAT's end, the batmap header and map, and every used locator's data.
    public static func endOfHeaders(footer: Footer, header: DynamicHeader, batmap: BatmapHeader?) -> UInt64 {
        var end = footer.dataOffset &+ UInt64(DynamicHeader.size)
        let batEnd =
            header.tableOffset &+ BlockAllocationTable.paddedSize(entries: Int(header.maxTableEntries))
        end = max(end, batEnd)
        if let batmap {
            end = max(end, batEnd + UInt64(BatmapHeader.size))
            end = max(end, batmap.mapOffset &+ UInt64(batmap.mapSectors) * sectorSize)
        }
        for (_, locator) in header.usedLocators {
            end = max(end, locator.dataOffset &+ (locator.dataSpaceBytes ?? 0))
        }
        return end
    }

    /// The batmap header's implicit location (`vhd_batmap_header_offset`): right after the
    /// padded BAT.
    public static func batmapHeaderOffset(header: DynamicHeader) -> UInt64 {
        header.tableOffset &+ BlockAllocationTable.paddedSize(entries: Int(header.maxTableEntries))
    }

    /// The sector at which a new block's bitmap goes, given the end of data in bytes, so that
    /// its data starts on a page boundary (`__vhd_io_allocate_block`).
    public static func newBlockSector(endOfData: UInt64, bitmapSectors: UInt64) -> UInt64 {
        let sector = divideRoundingUp(endOfData, sectorSize)
        let misalignment = (sector + bitmapSectors) % sectorsPerPage
        return misalignment == 0 ? sector : sector + sectorsPerPage - misalignment
    }

    /// The number of BAT entries a disk of `size` bytes needs with `blockSize`-byte blocks.
    public static func blockCount(size: UInt64, blockSize: UInt32) -> UInt64 {
        divideRoundingUp(size, UInt64(blockSize))
    }
}
