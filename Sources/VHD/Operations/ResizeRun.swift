import BlockIO
import VHDFormat

/// A journaled grow carried out as blktap's `vhd_util_resize` does it, step by step, each
/// region saved in the journal just before it is overwritten:
///
/// 1. journal the metadata and disable the VHD (`RESIZE_BEGIN`);
/// 2. if the metadata grows: move each block in `plan.moves` to the end of the file (zeroed
///    gap so its data starts on a page, copy, zero the old place) (`RESIZE_DATA_MOVED`, when
///    any moved), then shift the locators (`RESIZE_METADATA_MOVED`);
/// 3. write the header, BAT, batmap (map, then header) and the still-poisoned footers with the
///    new size (`RESIZE_END`);
/// 4. (in `Resize.journaled`) enable the VHD, then commit the journal.
struct ResizeRun {
    let image: Image
    let plan: ResizePlan
    let store: any BlockStore
    let failAt: ((Resize.Step) throws(VHDError) -> Void)?

    init(image: Image, plan: ResizePlan, failAt: ((Resize.Step) throws(VHDError) -> Void)?) {
        self.image = image
        self.plan = plan
        self.store = image.store
        self.failAt = failAt
    }

    /// Steps 1–3 into `journal`. A failure from a step (or the hook) propagates, leaving
    /// the journal to revert.
    func run(journal: any BlockStore) throws(VHDError) -> JournalWriter {
        let writer = try JournalWriter(image: image, journal: journal)
        try Journal.writeFooters(image.footer, cookie: Footer.poisonCookie, at: writer.header.footerOffset, to: store)
        try flush()
        try failAt?(.begin)
        var bat = image.bat
        if plan.grows {
            if !plan.moves.isEmpty {
                try moveBlocks(&bat, writer)
                try failAt?(.dataMoved)
            }
            try shiftLocators(writer)
            try failAt?(.metadataMoved)
        }
        try writeMetadata(bat, writer)
        try failAt?(.end)
        return writer
    }

    /// Moves each block of `plan.moves` past everything else, as `vhd_move_block` does.
    private func moveBlocks(_ bat: inout BlockAllocationTable, _ writer: JournalWriter) throws(VHDError) {
        let span = image.bitmapSize + image.blockSize
        var end = plan.newEndOfHeaders
        for entry in bat.entries where entry != BlockAllocationTable.unused {
            end = max(end, UInt64(entry) * sectorSize + span)
        }
        for block in plan.moves {
            let from = UInt64(bat[block]) * sectorSize
            let to = Layout.newBlockSector(endOfData: end, bitmapSectors: image.bitmapSize / sectorSize) * sectorSize
            try writer.preserve([end..<to])
            try VHDError.wrap { () throws(BlockIOError) in try store.writeZeros(count: to - end, at: end) }
            try writer.saveBlock(at: from, bitmapSize: image.bitmapSize, blockSize: image.blockSize)
            try writer.preserve([to..<to + span])
            try VHDError.wrap { () throws(BlockIOError) in
                try store.write(try store.read(count: Int(image.bitmapSize), at: from), at: to)
                try store.write(try store.read(count: Int(image.blockSize), at: from + image.bitmapSize), at: to + image.bitmapSize)
                try store.writeZeros(count: span, at: from)
            }
            bat[block] = UInt32(to / sectorSize)
            end = to + span
        }
        try flush()
    }

    /// Copies the data of every locator that shifts to its new place (`vhd_shift_metadata`).
    private func shiftLocators(_ writer: JournalWriter) throws(VHDError) {
        let payloads = try VHDError.wrap { () throws(BlockIOError) -> [[UInt8]] in
            try plan.shiftedLocators.map { locator throws(BlockIOError) in try store.read(count: Int(locator.count), at: locator.from) }
        }
        try writer.preserve(plan.shiftedLocators.map { $0.to..<$0.to + $0.count })
        try VHDError.wrap { () throws(BlockIOError) in
            for (locator, payload) in zip(plan.shiftedLocators, payloads) { try store.write(payload, at: locator.to) }
        }
        try flush()
    }

    /// Writes the grown header, BAT and batmap, and footers that carry the new size but still
    /// the poison cookie (`vhd_add_bat_entries`); the file ends after the last block.
    private func writeMetadata(_ old: BlockAllocationTable, _ writer: JournalWriter) throws(VHDError) {
        var bat = old
        bat.entries += [UInt32](repeating: BlockAllocationTable.unused, count: Int(plan.newHeader.maxTableEntries) - bat.count)
        let header = plan.newHeader
        let batBytes = bat.encoded()
        var writes: [(UInt64, [UInt8])] = [(image.footer.dataOffset, header.encoded()), (header.tableOffset, batBytes)]
        if var batmap = plan.newBatmap {
            // The map keeps the bits of the old entries (`map_size` bytes) and is zero beyond.
            let kept = Int(BatmapHeader.mapSectors(forBlocks: UInt64(old.count))) * Int(sectorSize)
            var map = Array(image.batmap.prefix(kept))
            map += [UInt8](repeating: 0, count: Int(batmap.mapSectors) * Int(sectorSize) - map.count)
            batmap.checksum = BatmapHeader.checksum(of: map, currentSize: plan.newSize, version: batmap.version)
            writes.append((batmap.mapOffset, map))
            writes.append((Layout.batmapHeaderOffset(header: header), batmap.encoded()))
        }
        var footer = image.footer
        footer.currentSize = plan.newSize
        footer.geometry = Geometry.blktap(forSize: plan.newSize)
        let span = image.bitmapSize + image.blockSize
        var end = plan.newEndOfHeaders
        for entry in bat.entries where entry != BlockAllocationTable.unused {
            end = max(end, UInt64(entry) * sectorSize + span)
        }
        let footerOffset = store.canGrow ? end : store.size - UInt64(Footer.size)
        guard footerOffset >= end else {
            throw .noSpace(image: image.name, needed: end + UInt64(Footer.size), available: store.size)
        }
        // The file is cut after the new footer: what lay beyond it goes into the journal too.
        var overwritten = writes.map { $0.0..<$0.0 + UInt64($0.1.count) }
        if footerOffset < writer.originalLength { overwritten.append(footerOffset..<writer.originalLength) }
        try writer.preserve(overwritten)
        try VHDError.wrap { () throws(BlockIOError) in
            for (offset, bytes) in writes { try store.write(bytes, at: offset) }
        }
        try Journal.writeFooters(footer, cookie: Footer.poisonCookie, at: footerOffset, to: store)
        try VHDError.wrap { () throws(BlockIOError) in
            if store.canGrow && store.size != footerOffset + UInt64(Footer.size) {
                try store.resize(to: footerOffset + UInt64(Footer.size))
            }
        }
        try flush()
    }

    private func flush() throws(VHDError) {
        try VHDError.wrap { () throws(BlockIOError) in try store.flush() }
    }
}
