import BlockIO
import VHDFormat

extension Image {
    /// A run of virtual bytes and whether this layer holds them.
    public struct Extent: Equatable, Sendable {
        public var range: Range<UInt64>
        public var isPresent: Bool

        public init(range: Range<UInt64>, isPresent: Bool) {
            self.range = range
            self.isPresent = isPresent
        }
    }

    /// Splits the virtual byte range into maximal runs this layer holds (its sector bitmaps
    /// set) or does not. A fixed disk holds everything; an unallocated block nothing.
    /// `range` must lie within the virtual size.
    public func extents(in range: Range<UInt64>) throws(VHDError) -> [Extent] {
        try requireCheckedBlocks()
        guard !range.isEmpty else { return [] }
        if diskType == .fixed { return [Extent(range: range, isPresent: true)] }
        var result: [Extent] = []
        func append(_ piece: Range<UInt64>, _ present: Bool) {
            if let last = result.last, last.isPresent == present, last.range.upperBound == piece.lowerBound {
                result[result.count - 1].range = last.range.lowerBound..<piece.upperBound
            } else {
                result.append(Extent(range: piece, isPresent: present))
            }
        }
        let blockSize = self.blockSize
        var offset = range.lowerBound
        while offset < range.upperBound {
            let block = Int(offset / blockSize)
            let blockStart = UInt64(block) * blockSize
            let pieceEnd = min(range.upperBound, blockStart + blockSize)
            switch try blockState(block) {
            case nil: append(offset..<pieceEnd, false)
            case .full: append(offset..<pieceEnd, true)
            case .partial(let bitmap):
                let first = Int((offset - blockStart) / sectorSize)
                let last = Int(divideRoundingUp(pieceEnd - blockStart, sectorSize))
                for run in bitmap.runs(in: first..<last) {
                    let start = max(offset, blockStart + UInt64(run.range.lowerBound) * sectorSize)
                    let end = min(pieceEnd, blockStart + UInt64(run.range.upperBound) * sectorSize)
                    append(start..<end, run.isSet)
                }
            }
            offset = pieceEnd
        }
        return result
    }

    /// Reads bytes this layer holds (an extent `extents(in:)` reported present) at virtual
    /// offset `offset`, straight from the store.
    public func readPresent(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(VHDError) {
        try requireCheckedBlocks()
        if diskType == .fixed {
            try VHDError.wrap { () throws(BlockIOError) in try store.read(into: buffer, at: offset) }
            return
        }
        let blockSize = self.blockSize
        var done = 0
        while done < buffer.count {
            let virtual = offset + UInt64(done)
            let block = Int(virtual / blockSize)
            let within = virtual % blockSize
            let count = Int(min(UInt64(buffer.count - done), blockSize - within))
            guard let blockOffset = blockOffset(block) else {
                throw .invalid(image: name, problem: "read of unallocated block \(block) as present")
            }
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + count])
            try VHDError.wrap { () throws(BlockIOError) in
                try store.read(into: slice, at: blockOffset + bitmapSize + within)
            }
            done += count
        }
    }

    /// The sector bitmap of `block` as stored, nil when the block is not allocated.
    public func sectorBitmap(_ block: Int) throws(VHDError) -> SectorBitmap? {
        try requireCheckedBlocks()
        guard let offset = blockOffset(block) else { return nil }
        let bytes = try VHDError.wrap { () throws(BlockIOError) in try store.read(count: Int(bitmapSize), at: offset) }
        return SectorBitmap(bytes: bytes, sectorCount: Int(blockSize / sectorSize))
    }

    /// Data is read only from an image whose blocks `open` checked: one opened with libvhd's
    /// validation answers through `libvhd` instead.
    func requireCheckedBlocks() throws(VHDError) {
        guard blocksChecked else {
            throw .invalid(
                image: name,
                problem: "opened with libvhd's validation, which leaves the BAT and blocks unchecked; data reads need a full open")
        }
    }

    /// What is known of `block`: nil when unallocated, else full or its bitmap, cached.
    func blockState(_ block: Int) throws(VHDError) -> BlockState? {
        enum Lookup { case unallocated, known(BlockState), unknown }
        let lookup: Lookup = state.withLock { state in
            guard block < state.bat.count, state.bat.isAllocated(block) else { return .unallocated }
            if let known = state.blocks[block] { return .known(known) }
            return .unknown
        }
        switch lookup {
        case .unallocated: return nil
        case .known(let known): return known
        case .unknown: break
        }
        guard let bitmap = try sectorBitmap(block) else { return nil }
        let loaded: BlockState = bitmap.isFull ? .full : .partial(bitmap)
        state.withLock { state in
            if state.bat.isAllocated(block) && state.blocks[block] == nil { state.blocks[block] = loaded }
        }
        return loaded
    }

    /// The byte ranges of the virtual disk this layer holds data for, merged.
    public func allocatedRanges() throws(VHDError) -> [Range<UInt64>] {
        try requireCheckedBlocks()
        if diskType == .fixed {
            let size = virtualSize
            return try VHDError.wrap { () throws(BlockIOError) in try store.allocatedRanges(in: 0..<size) }
        }
        var result: [Range<UInt64>] = []
        let bat = self.bat
        for block in 0..<min(bat.count, usedBlockCount) where bat.isAllocated(block) {
            let start = UInt64(block) * blockSize
            let range = start..<min(virtualSize, start + blockSize)
            for extent in try extents(in: range) where extent.isPresent {
                if let last = result.last, last.upperBound == extent.range.lowerBound {
                    result[result.count - 1] = last.lowerBound..<extent.range.upperBound
                } else {
                    result.append(extent.range)
                }
            }
        }
        return result
    }
}
