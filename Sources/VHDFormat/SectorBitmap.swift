/// A block's sector bitmap: one bit per sector, most significant bit first; a set bit means the
/// sector's data is in this image (VHD spec, "Block Allocation Table and Data Blocks").
public struct SectorBitmap: Hashable, Sendable {
    public var bytes: [UInt8]
    public let sectorCount: Int

    /// An all-clear (or all-set) bitmap for `sectorCount` sectors stored in `byteCount` bytes.
    public init(sectorCount: Int, byteCount: Int, allSet: Bool = false) {
        self.sectorCount = sectorCount
        bytes = [UInt8](repeating: 0, count: byteCount)
        if allSet { setRange(0..<sectorCount) }
    }

    public init(bytes: [UInt8], sectorCount: Int) {
        self.bytes = bytes
        self.sectorCount = sectorCount
    }

    @inline(__always)
    public func isSet(_ sector: Int) -> Bool { bytes[sector >> 3] & (0x80 >> UInt8(sector & 7)) != 0 }

    @inline(__always)
    public mutating func set(_ sector: Int) { bytes[sector >> 3] |= 0x80 >> UInt8(sector & 7) }

    @inline(__always)
    public mutating func clear(_ sector: Int) { bytes[sector >> 3] &= ~(0x80 >> UInt8(sector & 7)) }

    /// Sets the bits of `sectors`; returns whether any bit changed (whether the bitmap must be
    /// written back).
    @discardableResult
    public mutating func setRange(_ sectors: Range<Int>) -> Bool {
        var changed = false
        var sector = sectors.lowerBound
        while sector < sectors.upperBound {
            if sector & 7 == 0 && sector + 8 <= sectors.upperBound {
                if bytes[sector >> 3] != 0xFF {
                    bytes[sector >> 3] = 0xFF
                    changed = true
                }
                sector += 8
            } else {
                if !isSet(sector) {
                    set(sector)
                    changed = true
                }
                sector += 1
            }
        }
        return changed
    }

    /// Whether every sector's bit is set.
    public var isFull: Bool {
        let wholeBytes = sectorCount >> 3
        for index in 0..<wholeBytes where bytes[index] != 0xFF { return false }
        for sector in (wholeBytes << 3)..<sectorCount where !isSet(sector) { return false }
        return true
    }

    /// Whether no sector's bit is set.
    public var isEmpty: Bool { bytes.allSatisfy { $0 == 0 } }

    /// The number of set bits among the first `sectorCount`.
    public var setCount: Int {
        var count = 0
        for sector in 0..<sectorCount where isSet(sector) { count += 1 }
        return count
    }

    /// `sectors` split into maximal runs of equal bits: (run, isSet).
    public func runs(in sectors: Range<Int>) -> [(range: Range<Int>, isSet: Bool)] {
        var result: [(Range<Int>, Bool)] = []
        var start = sectors.lowerBound
        while start < sectors.upperBound {
            let value = isSet(start)
            var end = start + 1
            while end < sectors.upperBound {
                if end & 7 == 0 && end + 8 <= sectors.upperBound {
                    let byte = bytes[end >> 3]
                    if byte == (value ? 0xFF : 0x00) {
                        end += 8
                        continue
                    }
                }
                if isSet(end) != value { break }
                end += 1
            }
            result.append((start..<end, value))
            start = end
        }
        return result
    }
}
