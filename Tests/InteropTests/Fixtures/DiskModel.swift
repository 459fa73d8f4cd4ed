import TestSupport
/// The reference a virtual disk is checked against: what every byte must read as, kept
/// sparse (written sectors only) so a 1 GiB disk costs only what was written.
struct DiskModel {
    static let sector = 512

    private(set) var size: UInt64
    /// Sector index → that sector's 512 bytes; absent sectors read as zeros.
    private var sectors: [UInt64: [UInt8]] = [:]

    init(size: UInt64) { self.size = size }

    /// Records a write of `bytes` at `offset` (any alignment); the write must lie within `size`.
    /// (Loops over raw buffers: the tests run unoptimised, where generic collection code is slow.)
    mutating func write(_ bytes: [UInt8], at offset: UInt64) {
        precondition(offset + UInt64(bytes.count) <= size, "model write past the end")
        var done = 0
        while done < bytes.count {
            let position = offset + UInt64(done)
            let index = position / UInt64(Self.sector)
            let within = Int(position % UInt64(Self.sector))
            let count = min(Self.sector - within, bytes.count - done)
            var sector = sectors[index] ?? [UInt8](repeating: 0, count: Self.sector)
            sector.withUnsafeMutableBytes { target in
                bytes.withUnsafeBytes { source in
                    (target.baseAddress! + within).copyMemory(from: source.baseAddress! + done, byteCount: count)
                }
            }
            sectors[index] = sector
            done += count
        }
    }

    /// What `range` must read as.
    func read(_ range: Range<UInt64>) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: Int(range.upperBound - range.lowerBound))
        guard !range.isEmpty, !sectors.isEmpty else { return result }
        let sector = UInt64(Self.sector)
        let first = range.lowerBound / sector
        let last = (range.upperBound - 1) / sector
        result.withUnsafeMutableBytes { target in
            func copy(_ index: UInt64, _ bytes: [UInt8]) {
                let start = max(range.lowerBound, index * sector)
                let end = min(range.upperBound, (index + 1) * sector)
                bytes.withUnsafeBytes { source in
                    (target.baseAddress! + Int(start - range.lowerBound)).copyMemory(
                        from: source.baseAddress! + Int(start - index * sector), byteCount: Int(end - start))
                }
            }
            if UInt64(sectors.count) < last - first + 1 {
                for (index, bytes) in sectors where index >= first && index <= last { copy(index, bytes) }
            } else {
                var index = first
                while index <= last {
                    if let bytes = sectors[index] { copy(index, bytes) }
                    index += 1
                }
            }
        }
        return result
    }

    /// Grows the disk; the new bytes read as zeros.
    mutating func grow(to newSize: UInt64) {
        precondition(newSize >= size, "the model only grows")
        size = newSize
    }

    /// The byte ranges holding written sectors, merged: where a disk's data must be.
    var writtenRanges: [Range<UInt64>] {
        var result: [Range<UInt64>] = []
        for index in sectors.keys.sorted() {
            let range = index * UInt64(Self.sector)..<min(size, (index + 1) * UInt64(Self.sector))
            if let last = result.last, last.upperBound == range.lowerBound {
                result[result.count - 1] = last.lowerBound..<range.upperBound
            } else {
                result.append(range)
            }
        }
        return result
    }
}

typealias SeededGenerator = SplitMix64

/// `count` bytes of a recognisable pattern: `seed` in the first byte of each 16, the offset
/// within the buffer in the others, so a misplaced sector shows which one it was.
func pattern(count: Int, seed: UInt8) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBufferPointer { buffer in
        var index = 0
        while index < count {
            buffer[index] = index & 15 == 0 ? seed : UInt8(truncatingIfNeeded: (index >> 4) &+ Int(seed))
            index += 1
        }
    }
    return bytes
}
