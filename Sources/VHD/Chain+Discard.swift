import BlockIO
import VHDFormat

extension Chain {
    /// Makes `range` (any byte alignment) of the virtual disk read as zeroes, releasing space
    /// where the leaf can: the leaf's `Image.discard` when it has no parent; on a differencing
    /// leaf, zeroes written only where some layer (or the raw base) holds data, since what no
    /// layer holds already reads as zeroes. Partial sectors at the ends are zeroed through
    /// `write` (read-modify-write), and only where some layer holds them.
    public func discard(_ range: Range<UInt64>) throws(VHDError) {
        let count = range.upperBound - range.lowerBound
        guard range.upperBound <= virtualSize else {
            throw .outOfRange(image: leaf.name, offset: range.lowerBound, count: count, size: virtualSize)
        }
        let inner = roundUp(range.lowerBound, to: sectorSize)..<range.upperBound / sectorSize * sectorSize
        guard inner.lowerBound < inner.upperBound else {
            if !(try allocatedRanges(in: range)).isEmpty { try writeZeroes(range) }
            return
        }
        for edge in [range.lowerBound..<inner.lowerBound, inner.upperBound..<range.upperBound]
        where !(try allocatedRanges(in: edge)).isEmpty {
            try writeZeroes(edge)
        }
        if leaf.isDifferencing {
            for target in try allocatedRanges(in: inner) { try writeZeroes(target) }
        } else {
            try leaf.discard(inner)
        }
    }

    /// Writes zeroes over `range`, 1 MiB at a time.
    public func writeZeroes(_ range: Range<UInt64>) throws(VHDError) {
        guard !range.isEmpty else { return }
        let zeroes = [UInt8](repeating: 0, count: Int(min(1 << 20, range.upperBound - range.lowerBound)))
        var offset = range.lowerBound
        while offset < range.upperBound {
            let count = Int(min(UInt64(zeroes.count), range.upperBound - offset))
            try zeroes.withBytes { (raw) throws(VHDError) in
                try write(UnsafeRawBufferPointer(rebasing: raw[..<count]), at: offset)
            }
            offset += UInt64(count)
        }
    }
}
