import BlockIO
import VHDFormat

/// The writes of a full resize, computed before anything is written so that the journal can
/// save exactly the regions they overwrite.
struct ResizePlan {
    let image: Image
    let newSize: UInt64
    /// Blocks whose bitmap and data lie where the grown metadata will go, lowest first.
    let blocksToMove: [Int]
    let newHeader: DynamicHeader?
    let newBatmap: BatmapHeader?
    let newEndOfHeaders: UInt64

    init(image: Image, newSize: UInt64) throws(VHDError) {
        self.image = image
        guard image.footer.isTapCreated else {
            throw .unsupported(image: image.name, operation: "resize of a disk not created by xen", errno: 22)
        }
        guard let header = image.header else {
            self.newSize = newSize
            blocksToMove = []
            newHeader = nil
            newBatmap = nil
            newEndOfHeaders = 0
            return
        }
        let blockSize = UInt64(header.blockSize)
        let size = roundUp(newSize, to: blockSize)
        guard size >= image.virtualSize else {
            throw .unsupported(image: image.name, operation: "dynamic shrink", errno: 38)
        }
        guard size <= Create.maxVirtualSize else {
            throw .invalidArgument("size \(size) exceeds the maximum VHD size of \(Create.maxVirtualSize) bytes")
        }
        self.newSize = size
        let entries = UInt32(max(UInt64(header.maxTableEntries), size / blockSize))
        var grown = header
        grown.maxTableEntries = entries
        var batmap: BatmapHeader? = nil
        var end = Layout.batmapHeaderOffset(header: grown)
        if var existing = image.batmapHeader {
            end += UInt64(BatmapHeader.size)
            existing.mapOffset = end
            existing.mapSectors = max(existing.mapSectors, BatmapHeader.mapSectors(forBlocks: UInt64(entries)))
            end += UInt64(existing.mapSectors) * sectorSize
            batmap = existing
        }
        end = max(end, Layout.headerOffset + UInt64(DynamicHeader.size))
        for (slot, locator) in header.usedLocators {
            grown.locators[slot].dataOffset = end
            end += locator.dataSpaceBytes ?? 512
        }
        newHeader = grown
        newBatmap = batmap
        newEndOfHeaders = end
        let bat = image.bat
        blocksToMove = bat.entries.indices
            .filter { bat.isAllocated($0) && UInt64(bat[$0]) * sectorSize < end }
            .sorted { bat[$0] < bat[$1] }
    }

    /// The block regions the new metadata overwrites, saved in the journal as data entries.
    var dataRegions: [Journal.Region] {
        blocksToMove.compactMap { block in
            guard let offset = image.blockOffset(block) else { return nil }
            return Journal.Region(kind: .data, offset: offset, count: Int(image.bitmapSize + image.blockSize))
        }
    }

    func apply(to store: any BlockStore, failAt: ((Resize.Step) throws(VHDError) -> Void)?) throws(VHDError) {
        var footer = image.footer
        footer.currentSize = newSize
        footer.geometry = Geometry.blktap(forSize: newSize)
        footer.storedChecksum = footer.computedChecksum
        guard let oldHeader = image.header, let newHeader else {
            try applyFixed(to: store, footer: footer, failAt: failAt)
            return
        }
        var bat = image.bat
        bat.entries += [UInt32](repeating: BlockAllocationTable.unused, count: Int(newHeader.maxTableEntries) - bat.count)
        var end = max(image.endOfData, newEndOfHeaders)
        let span = Int(image.bitmapSize + image.blockSize)
        try VHDError.wrap { () throws(BlockIOError) in
            for block in blocksToMove {
                let from = UInt64(bat[block]) * sectorSize
                let sector = Layout.newBlockSector(endOfData: end, bitmapSectors: image.bitmapSize / sectorSize)
                try store.write(try store.read(count: span, at: from), at: sector * sectorSize)
                bat[block] = UInt32(sector)
                end = sector * sectorSize + UInt64(span)
            }
            try store.flush()
        }
        try failAt?(.dataMoved)
        try VHDError.wrap { () throws(BlockIOError) in
            for (slot, locator) in oldHeader.usedLocators {
                let data = try store.read(count: Int(locator.dataSpaceBytes ?? 512), at: locator.dataOffset)
                try store.write(data, at: newHeader.locators[slot].dataOffset)
            }
            if var batmap = newBatmap {
                var map = image.batmap
                map += [UInt8](repeating: 0, count: Int(batmap.mapSectors) * Int(sectorSize) - map.count)
                batmap.checksum = BatmapHeader.checksum(of: map, currentSize: newSize, version: batmap.version)
                try store.write(map, at: batmap.mapOffset)
                try store.write(batmap.encoded(), at: Layout.batmapHeaderOffset(header: newHeader))
            }
            try store.write(bat.encoded(), at: newHeader.tableOffset)
            try store.write(newHeader.encoded(), at: footer.dataOffset)
            try store.flush()
        }
        try failAt?(.metadataMoved)
        try VHDError.wrap { () throws(BlockIOError) in
            try store.write(footer.encoded(), at: end)
            if store.size > end + UInt64(Footer.size) { try store.resize(to: end + UInt64(Footer.size)) }
            try store.write(footer.encoded(), at: 0)
            try store.flush()
        }
        try failAt?(.end)
    }

    /// A fixed disk: the data grows (zeros) or is cut, and the footer follows the new end.
    private func applyFixed(to store: any BlockStore, footer: Footer, failAt: ((Resize.Step) throws(VHDError) -> Void)?)
        throws(VHDError)
    {
        try VHDError.wrap { () throws(BlockIOError) in
            let oldSize = image.virtualSize
            if newSize > oldSize { try store.writeZeros(count: UInt64(Footer.size), at: oldSize) }
            try store.resize(to: newSize)
            try store.write(footer.encoded(), at: newSize)
            try store.flush()
        }
        try failAt?(.end)
    }
}
