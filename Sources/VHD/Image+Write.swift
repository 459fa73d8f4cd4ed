import BlockIO
import VHDFormat

extension Image {
    /// Writes whole sectors at virtual byte offset `offset` into this layer, allocating blocks
    /// on first write.
    ///
    /// A new block goes after all data and metadata, its data area page aligned (blktap's
    /// `__vhd_io_allocate_block`). The writes are ordered so that a crash at any point never
    /// exposes stale data and always leaves a footer at the end of the file: the footer at the
    /// block's end, the data, the sector bitmap (over the old footer), then (after a flush,
    /// with `barriers`) the BAT entry, then the batmap.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(VHDError) {
        guard options.writable else { throw .readOnly(image: name) }
        let count = UInt64(bytes.count)
        guard offset % sectorSize == 0, count % sectorSize == 0 else {
            throw .unaligned(image: name, offset: offset, count: count)
        }
        guard offset <= virtualSize, count <= virtualSize - offset else {
            throw .outOfRange(image: name, offset: offset, count: count, size: virtualSize)
        }
        guard count > 0 else { return }
        try writer.withLock { (_: inout Void) throws(VHDError) in
            if diskType == .fixed {
                try VHDError.wrap { () throws(BlockIOError) in try store.write(bytes, at: offset) }
                return
            }
            var allocated = false
            var done: UInt64 = 0
            while done < count {
                let virtual = offset + done
                let block = Int(virtual / blockSize)
                let within = virtual % blockSize
                let pieceCount = min(count - done, blockSize - within)
                let piece = UnsafeRawBufferPointer(rebasing: bytes[Int(done)..<Int(done + pieceCount)])
                if blockOffset(block) == nil {
                    try allocateBlock(block, writing: piece, at: within)
                    allocated = true
                } else {
                    try writeAllocated(block, piece, at: within)
                }
                done += pieceCount
            }
            if allocated { try writePrimaryFooter(footer) }
        }
    }

    /// Writes into an allocated block, then sets the sectors' bits, then the batmap bit when
    /// the block became full.
    func writeAllocated(_ block: Int, _ data: UnsafeRawBufferPointer, at within: UInt64) throws(VHDError) {
        guard let blockOffset = blockOffset(block) else { return }
        try VHDError.wrap { () throws(BlockIOError) in try store.write(data, at: blockOffset + bitmapSize + within) }
        guard case .partial(var bitmap) = try blockState(block) else { return }
        let first = Int(within / sectorSize)
        guard bitmap.setRange(first..<first + data.count / Int(sectorSize)) else { return }
        try VHDError.wrap { () throws(BlockIOError) in try store.write(bitmap.bytes, at: blockOffset) }
        let full = bitmap.isFull
        state.withLock { $0.blocks[block] = full ? .full : .partial(bitmap) }
        if full { try setBatmapBit(block) }
    }

    private func allocateBlock(_ block: Int, writing data: UnsafeRawBufferPointer, at within: UInt64) throws(VHDError) {
        guard let header else { return }
        let endOfData = self.endOfData
        let bitmapSectors = bitmapSize / sectorSize
        let sector = Layout.newBlockSector(endOfData: endOfData, bitmapSectors: bitmapSectors)
        let blockStart = sector * sectorSize
        let dataStart = blockStart + bitmapSize
        let blockEnd = dataStart + blockSize
        guard sector < UInt64(BlockAllocationTable.unused) else {
            throw .noSpace(image: name, needed: blockEnd, available: UInt64(UInt32.max) * sectorSize)
        }
        if !store.canGrow && blockEnd + UInt64(Footer.size) > store.size {
            throw .noSpace(image: name, needed: blockEnd + UInt64(Footer.size), available: store.size)
        }
        var bitmap = SectorBitmap(sectorCount: Int(blockSize / sectorSize), byteCount: Int(bitmapSize))
        let first = Int(within / sectorSize)
        bitmap.setRange(first..<first + data.count / Int(sectorSize))

        let fresh = store.canGrow && dataStart >= store.size
        if store.canGrow {
            // blktap writes the footer after the block, so a process killed in between leaves a
            // file whose end is not a footer, which its check rejects. Written first, the file
            // ends in a valid footer at every instant; a crash leaves only unreferenced space.
            try VHDError.wrap { () throws(BlockIOError) in try store.write(footer.encoded(), at: blockEnd) }
        }
        try writeNewBlockData(data, at: within, dataStart: dataStart, blockSize: blockSize, fresh: fresh)
        var metadata = [UInt8](repeating: 0, count: Int(blockStart - min(blockStart, endOfData)))
        metadata += bitmap.bytes
        try VHDError.wrap { () throws(BlockIOError) in
            try store.write(metadata, at: blockStart + bitmapSize - UInt64(metadata.count))
            // The file must hold the whole block before the BAT names it, or a crash before the
            // footer is written would leave a BAT entry pointing past the end of the file.
            if store.canGrow && store.size < blockEnd { try store.resize(to: blockEnd) }
            if options.barriers { try store.flush() }
        }
        var bat = self.bat
        bat[block] = UInt32(sector)
        let batSector = bat.encodedSector(containing: block)
        try VHDError.wrap { () throws(BlockIOError) in
            try store.write(batSector.bytes, at: header.tableOffset + batSector.offsetInTable)
        }
        let full = bitmap.isFull
        state.withLock { state in
            state.bat[block] = UInt32(sector)
            state.blocks[block] = full ? .full : .partial(bitmap)
            state.endOfData = max(state.endOfData, blockEnd)
        }
        if full { try setBatmapBit(block) }
    }

    /// Writes a new block's data area: only `data` where the area was `fresh` (past the store's
    /// end before this allocation: holes read as zeros), else the whole area with zeros around
    /// `data`, so no stale bytes of a reused region (an LV, trailing garbage) can be read back.
    private func writeNewBlockData(
        _ data: UnsafeRawBufferPointer, at within: UInt64, dataStart: UInt64, blockSize: UInt64, fresh: Bool
    ) throws(VHDError) {
        if fresh || UInt64(data.count) == blockSize {
            try VHDError.wrap { () throws(BlockIOError) in try store.write(data, at: dataStart + within) }
            return
        }
        var area = [UInt8](repeating: 0, count: Int(blockSize))
        area.withUnsafeMutableBytes { area in
            UnsafeMutableRawBufferPointer(rebasing: area[Int(within)..<Int(within) + data.count]).copyMemory(from: data)
        }
        try VHDError.wrap { () throws(BlockIOError) in try store.write(area, at: dataStart) }
    }

    /// Marks `block` full in blktap's batmap (when the image has one) and writes the changed
    /// map sector and the header with its new checksum.
    func setBatmapBit(_ block: Int) throws(VHDError) {
        try updateBatmapBits([block], full: true)
    }

    /// Sets (`full`) or clears the batmap bits of `blocks` (when the image has a batmap) and
    /// writes each changed map sector once, then the header with its new checksum.
    func updateBatmapBits(_ blocks: [Int], full: Bool) throws(VHDError) {
        guard let header else { return }
        let update: (BatmapHeader, [(UInt64, [UInt8])], [UInt8])? = state.withLock { state in
            guard var batmapHeader = state.batmapHeader else { return nil }
            var dirtySectors: Set<Int> = []
            for block in blocks where block / 8 < state.batmap.count {
                let mask = UInt8(0x80) >> UInt8(block % 8)
                let wasFull = state.batmap[block / 8] & mask != 0
                guard wasFull != full else { continue }
                if full { state.batmap[block / 8] |= mask } else { state.batmap[block / 8] &= ~mask }
                dirtySectors.insert(block / 8 / Int(sectorSize))
            }
            guard !dirtySectors.isEmpty else { return nil }
            batmapHeader.checksum = BatmapHeader.checksum(
                of: state.batmap, currentSize: state.footer.currentSize, version: batmapHeader.version)
            state.batmapHeader = batmapHeader
            let sectors = dirtySectors.sorted().map { sector in
                let start = sector * Int(sectorSize)
                return (UInt64(start), Array(state.batmap[start..<min(state.batmap.count, start + Int(sectorSize))]))
            }
            return (batmapHeader, sectors, state.batmap)
        }
        guard let (batmapHeader, sectors, map) = update else { return }
        let headerOffset = Layout.batmapHeaderOffset(header: header)
        let span = (sectors.last?.0 ?? 0) + sectorSize
        try VHDError.wrap { () throws(BlockIOError) in
            // Where the map follows its header (as blktap lays it out), header and map go in one
            // write, so a killed process never leaves a checksum that disagrees with the map
            // (which fails a writable open and check). Past 64 KiB of map that costs too much per
            // block, and the map is written first, then the header.
            if batmapHeader.mapOffset == headerOffset + UInt64(BatmapHeader.size) && span <= 64 << 10 {
                try store.write(batmapHeader.encoded() + map[..<Int(min(span, UInt64(map.count)))], at: headerOffset)
                return
            }
            for (offset, bytes) in sectors { try store.write(bytes, at: batmapHeader.mapOffset + offset) }
            try store.write(batmapHeader.encoded(), at: headerOffset)
        }
    }

    /// Writes `footer` at the end: after the last block on a growable store (cutting off
    /// anything beyond, as blktap's `vhd_write_footer` does), at the last sector of a
    /// fixed-size one.
    func writePrimaryFooter(_ footer: Footer) throws(VHDError) {
        let bytes = footer.encoded()
        if diskType == .fixed || !store.canGrow {
            let offset = diskType == .fixed && store.canGrow ? footer.currentSize : store.size - UInt64(Footer.size)
            try VHDError.wrap { () throws(BlockIOError) in try store.write(bytes, at: offset) }
            return
        }
        let end = endOfData
        try VHDError.wrap { () throws(BlockIOError) in
            try store.write(bytes, at: end)
            if store.size > end + UInt64(Footer.size) { try store.resize(to: end + UInt64(Footer.size)) }
        }
    }

    /// Replaces the footer: the primary at the end, then the copy at offset 0.
    public func updateFooter(_ change: (inout Footer) -> Void) throws(VHDError) {
        guard options.writable else { throw .readOnly(image: name) }
        try writer.withLock { (_: inout Void) throws(VHDError) in
            var footer = self.footer
            change(&footer)
            footer.storedChecksum = footer.computedChecksum
            try writePrimaryFooter(footer)
            if diskType.isSparse {
                try VHDError.wrap { () throws(BlockIOError) in try store.write(footer.encoded(), at: 0) }
            }
            state.withLock { $0.footer = footer }
        }
    }

    /// Sets blktap's hidden flag in both footers.
    public func setHidden(_ hidden: Bool) throws(VHDError) {
        try updateFooter { $0.hidden = hidden ? 1 : 0 }
    }

    /// Makes all completed writes durable.
    public func flush() throws(VHDError) {
        try VHDError.wrap { () throws(BlockIOError) in try store.flush() }
    }
}
