import BlockIO
import VHDFormat

extension Image {
    /// Makes the virtual byte range `range` of a disk without a parent read as zeroes, releasing
    /// the space behind it where it can (TRIM, or a WRITE_ZEROES that may punch holes).
    ///
    /// - A fixed disk passes the range to the store's `discard` (a punched hole reads as zeroes).
    /// - A dynamic disk releases every allocated block the range covers whole: its BAT entry goes
    ///   back to unused and its bitmap and data are punched out of the store. A block only partly
    ///   covered gets zeroes written where its bitmap says it holds data; unallocated blocks and
    ///   clear sectors already read as zeroes and are left alone.
    ///
    /// Crash ordering (a kill at any store call leaves every sector reading its old contents or
    /// zeroes, never another block's data):
    /// 1. the batmap bits of the released blocks are cleared (check rejects a full bit on an
    ///    unallocated block; a clear bit on an allocated one only costs a bitmap read),
    /// 2. the BAT sectors naming them are written, then flushed with `barriers`, so the entries
    ///    are durable before any byte they pointed at changes,
    /// 3. the blocks are punched out,
    /// 4. when the released blocks were the last ones in the file, the footer moves down to the
    ///    new end of data and the file is cut there (as `writePrimaryFooter` does after a write).
    ///
    /// A crash between 2 and 3 leaves the old bytes behind unreachable blocks. They are never
    /// exposed: a block allocated later goes to the end of data computed from the BAT, and when
    /// that lies inside the file (below the stale bytes and the old footer), `allocateBlock`
    /// writes the whole new data area, zeroes included, before its BAT entry names it.
    ///
    /// A concurrent reader of a released block may read its old data or zeroes; callers that
    /// need more (the NBD export) exclude reads while discarding, because step 4 lets a later
    /// allocation reuse the released space.
    ///
    /// - Throws: `.invalidArgument` on a differencing disk (releasing a block would expose the
    ///   parent's data: `Chain.discard` writes zeroes there instead), `.unaligned` unless `range`
    ///   is whole sectors, `.outOfRange` past the virtual size, `.readOnly`, and store errors.
    public func discard(_ range: Range<UInt64>) throws(VHDError) {
        guard options.writable else { throw .readOnly(image: name) }
        let count = range.upperBound - range.lowerBound
        guard range.lowerBound % sectorSize == 0, count % sectorSize == 0 else {
            throw .unaligned(image: name, offset: range.lowerBound, count: count)
        }
        guard range.upperBound <= virtualSize else {
            throw .outOfRange(image: name, offset: range.lowerBound, count: count, size: virtualSize)
        }
        guard !isDifferencing else {
            throw .invalidArgument("\(name): discard on a differencing disk would expose its parent's data")
        }
        guard !range.isEmpty else { return }
        try writer.withLock { (_: inout Void) throws(VHDError) in
            if diskType == .fixed {
                try VHDError.wrap { () throws(BlockIOError) in try store.discard(range) }
                return
            }
            let (whole, partial) = try plan(range)
            for (block, within) in partial { try zeroPresentSectors(block, within: within) }
            if !whole.isEmpty { try release(whole) }
        }
    }

    /// The allocated blocks `range` covers whole, and the allocated blocks it covers in part with
    /// the covered bytes relative to each block's start. A block's whole is its part below the
    /// virtual size (the last block may extend past it).
    private func plan(_ range: Range<UInt64>) throws(VHDError) -> (whole: [Int], partial: [(Int, Range<UInt64>)]) {
        let blockSize = self.blockSize
        var whole: [Int] = []
        var partial: [(Int, Range<UInt64>)] = []
        let bat = state.withLock { $0.bat }
        var block = Int(range.lowerBound / blockSize)
        while UInt64(block) * blockSize < range.upperBound {
            defer { block += 1 }
            guard block < bat.count, bat.isAllocated(block) else { continue }
            let start = UInt64(block) * blockSize
            let span = start..<min(start + blockSize, virtualSize)
            let covered = span.clamped(to: range)
            if covered == span {
                whole.append(block)
            } else {
                partial.append((block, covered.lowerBound - start..<covered.upperBound - start))
            }
        }
        return (whole, partial)
    }

    /// Writes zeroes over the sectors of allocated `block` within `within` (bytes from the block's
    /// start) that its bitmap marks present; the bitmap is unchanged.
    private func zeroPresentSectors(_ block: Int, within: Range<UInt64>) throws(VHDError) {
        let first = Int(within.lowerBound / sectorSize)
        let last = Int(within.upperBound / sectorSize)
        let runs: [Range<Int>]
        switch try blockState(block) {
        case nil: return
        case .full: runs = [first..<last]
        case .partial(let bitmap): runs = bitmap.runs(in: first..<last).filter(\.isSet).map(\.range)
        }
        guard let longest = runs.map(\.count).max() else { return }
        let zeroes = [UInt8](repeating: 0, count: longest * Int(sectorSize))
        for run in runs {
            let byteCount = run.count * Int(sectorSize)
            try zeroes.withBytes { (raw) throws(VHDError) in
                try writeAllocated(
                    block, UnsafeRawBufferPointer(rebasing: raw[..<byteCount]), at: UInt64(run.lowerBound) * sectorSize)
            }
        }
    }

    /// Releases allocated `blocks` (ascending) in the order `discard` documents.
    private func release(_ blocks: [Int]) throws(VHDError) {
        guard let header else { return }
        try updateBatmapBits(blocks, full: false)

        var bat = state.withLock { $0.bat }
        let spans = blocks.map { block in
            let start = UInt64(bat[block]) * sectorSize
            return start..<start + bitmapSize + blockSize
        }
        for block in blocks { bat[block] = BlockAllocationTable.unused }
        var tableSectors: Set<UInt64> = []
        try VHDError.wrap { () throws(BlockIOError) in
            for block in blocks {
                let sector = bat.encodedSector(containing: block)
                guard tableSectors.insert(sector.offsetInTable).inserted else { continue }
                try store.write(sector.bytes, at: header.tableOffset + sector.offsetInTable)
            }
            if options.barriers { try store.flush() }
        }
        let (oldEnd, newEnd) = state.withLock { state in
            for block in blocks {
                state.bat[block] = BlockAllocationTable.unused
                state.blocks[block] = nil
            }
            let oldEnd = state.endOfData
            state.endOfData = Self.computeEndOfData(
                footer: state.footer, header: header, batmapHeader: state.batmapHeader, bat: state.bat)
            return (oldEnd, state.endOfData)
        }
        try VHDError.wrap { () throws(BlockIOError) in
            // Space the footer move below cuts off needs no punching on a growable store.
            let limit = store.canGrow ? newEnd : UInt64.max
            for span in RangeSet.merge(spans) where span.lowerBound < limit {
                try store.discard(span.lowerBound..<min(span.upperBound, limit))
            }
        }
        if newEnd < oldEnd { try writePrimaryFooter(footer) }
    }
}
