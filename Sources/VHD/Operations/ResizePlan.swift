import BlockIO
import VHDFormat

/// Where a journaled grow puts everything, computed from the image before anything is
/// written, by blktap's arithmetic (`vhd_dynamic_grow`, `vhd_shift_metadata`,
/// `vhd_add_bat_entries`): so the journal, the moved blocks and the final layout are blktap's.
///
/// The BAT gets the new entries. When it or the batmap needs more sectors than its padding
/// holds, the metadata after the BAT shifts up (the batmap map by the BAT's extra bytes, the
/// locators by the BAT's and the map's), and the lowest blocks move to the end of the file
/// until the first remaining one starts past the old end of metadata plus that growth.
struct ResizePlan {
    /// The new virtual size: the size asked for rounded up to whole blocks.
    let newSize: UInt64
    /// The header to write: more BAT entries, shifted locators.
    let newHeader: DynamicHeader
    /// The batmap header to write (its checksum is computed when written); nil without one.
    let newBatmap: BatmapHeader?
    /// Whether the BAT or batmap outgrows its sectors, so metadata shifts (and blocks may
    /// move); blktap's failure points `RESIZE_DATA_MOVED` and `RESIZE_METADATA_MOVED` fire
    /// only then.
    let grows: Bool
    /// The blocks that move out of the metadata's way, lowest offset first.
    let moves: [Int]
    /// Locators whose data shifts: slot, old offset, new offset, bytes.
    let shiftedLocators: [(slot: Int, from: UInt64, to: UInt64, count: UInt64)]
    /// The first byte after the new metadata.
    let newEndOfHeaders: UInt64

    init(image: Image, newSize requested: UInt64) throws(VHDError) {
        guard image.footer.isTapCreated else {
            throw .unsupported(image: image.name, operation: "resize of a disk not created by xen", errno: 22)
        }
        guard let header = image.header else {
            // blktap's `vhd_journal_create` cannot read a fixed disk's BAT: EINVAL.
            throw .unsupported(image: image.name, operation: "journaled resize of a fixed disk", errno: 22)
        }
        let blockSize = UInt64(header.blockSize)
        let size = roundUp(requested, to: blockSize)
        guard size >= image.virtualSize else { throw .unsupported(image: image.name, operation: "dynamic shrink", errno: 38) }
        guard size <= Create.maxVirtualSize else {
            throw .invalidArgument("size \(size) exceeds the maximum VHD size of \(Create.maxVirtualSize) bytes")
        }
        newSize = size
        let oldEntries = UInt64(header.maxTableEntries)
        let entries = max(oldEntries, size / blockSize)
        let added = entries - oldEntries
        let batSize = BlockAllocationTable.paddedSize(entries: Int(oldEntries))
        let batAvailable = batSize - oldEntries * 4
        let batNeeded = added * 4
        let oldBatmap = image.batmapHeader
        let mapAvailable = oldBatmap.map { UInt64($0.mapSectors) * sectorSize - (oldEntries + 7) / 8 } ?? 0
        let mapNeeded = oldBatmap == nil ? 0 : added / 8 + 1
        let grows = batNeeded > batAvailable || mapNeeded > mapAvailable
        self.grows = grows
        let batExtra = grows && batNeeded > batAvailable ? Self.padded(batNeeded - batAvailable) : 0
        let mapExtra = grows && mapNeeded > mapAvailable ? Self.padded(mapNeeded - mapAvailable) : 0
        let endOfBAT = header.tableOffset + batSize

        var grown = header
        grown.maxTableEntries = UInt32(entries)
        var shifted: [(slot: Int, from: UInt64, to: UInt64, count: UInt64)] = []
        for (slot, locator) in header.usedLocators where grows && locator.dataOffset >= endOfBAT {
            let to = locator.dataOffset + batExtra + mapExtra
            shifted.append((slot, locator.dataOffset, to, locator.dataSpaceBytes ?? 0))
            grown.locators[slot].dataOffset = to
        }
        shiftedLocators = shifted
        newHeader = grown
        newBatmap = oldBatmap.map { old in
            var batmap = old
            if grows && old.mapOffset > endOfBAT { batmap.mapOffset += batExtra }
            batmap.mapSectors = BatmapHeader.mapSectors(forBlocks: entries)
            return batmap
        }
        newEndOfHeaders = Layout.endOfHeaders(footer: image.footer, header: grown, batmap: newBatmap)

        // blktap moves the lowest block, then the next, while it starts at or before the old end
        // of metadata plus the growth (`do … while (eom + size_needed >= first_block)`).
        let bat = image.bat
        let allocated = bat.entries.indices.filter { bat.isAllocated($0) }.sorted { bat[$0] < bat[$1] }
        let threshold = image.endOfHeaders + batExtra + mapExtra
        var moves: [Int] = []
        if grows {
            for block in allocated where moves.isEmpty || UInt64(bat[block]) * sectorSize <= threshold {
                moves.append(block)
            }
        }
        self.moves = moves
        try checkLayout(image)
    }

    /// `vhd_bytes_padded` of a non-zero count.
    static func padded(_ bytes: UInt64) -> UInt64 { roundUp(bytes, to: sectorSize) }

    /// The new metadata must not overlap itself or a block that stays (blktap's
    /// `vhd_check_for_clobber`); refused before anything is journaled.
    private func checkLayout(_ image: Image) throws(VHDError) {
        var regions: [(String, Range<UInt64>)] = [
            ("header", image.footer.dataOffset..<image.footer.dataOffset + UInt64(DynamicHeader.size)),
            ("BAT", newHeader.tableOffset..<Layout.batmapHeaderOffset(header: newHeader)),
        ]
        if let newBatmap {
            let offset = Layout.batmapHeaderOffset(header: newHeader)
            regions.append(("batmap header", offset..<offset + UInt64(BatmapHeader.size)))
            regions.append(("batmap", newBatmap.mapOffset..<newBatmap.mapOffset + UInt64(newBatmap.mapSectors) * sectorSize))
        }
        for (slot, locator) in newHeader.usedLocators {
            regions.append(("locator \(slot)", locator.dataOffset..<locator.dataOffset + (locator.dataSpaceBytes ?? 0)))
        }
        let span = image.bitmapSize + image.blockSize
        let bat = image.bat
        let moving = Set(moves)
        for block in bat.entries.indices where bat.isAllocated(block) && !moving.contains(block) {
            let start = UInt64(bat[block]) * sectorSize
            regions.append(("block \(block)", start..<start + span))
        }
        let sorted = regions.sorted { $0.1.lowerBound < $1.1.lowerBound }
        for index in sorted.indices.dropFirst() where sorted[index].1.lowerBound < sorted[index - 1].1.upperBound {
            throw .invalid(
                image: image.name,
                problem: "growing to \(newSize) bytes would make the \(sorted[index - 1].0) overlap the \(sorted[index].0)")
        }
    }
}
