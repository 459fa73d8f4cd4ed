extension Check {
    /// One line of `check -s` output: an image's allocation, and for all but the first, how much
    /// of what it wrote is new relative to its parent and to all its ancestors.
    public struct StatisticsSummary: Sendable, Equatable {
        /// The file name (the path after its last `/`).
        public var name: String
        /// Sectors in allocated blocks.
        public var allocatedSectors: UInt64
        /// Sectors whose bitmap bit is set.
        public var writtenSectors: UInt64
        /// `writtenSectors` as a percentage of `allocatedSectors`, in blktap's float arithmetic.
        public var writtenPercent: Float
        /// Sectors written here but not in the parent; nil for the first (most ancestral) image.
        public var notInParent: UInt64?
        /// `notInParent` as a percentage of `writtenSectors`.
        public var notInParentPercent: Float
        /// Sectors written here but in none of the ancestors checked.
        public var notInAncestors: UInt64?
        /// `notInAncestors` as a percentage of `writtenSectors`.
        public var notInAncestorsPercent: Float
    }

    /// Summarises statistics gathered leaf first (the order `check -p` visits images) into
    /// blktap's print order, most ancestral first (`vhd_util_check_stats_print`). Sectors beyond
    /// the first printed image's range are not compared, as in blktap.
    public static func summarize(_ gathered: [Statistics]) -> [StatisticsSummary] {
        let ordered = Array(gathered.reversed())
        guard let head = ordered.first else { return [] }
        var result = [
            StatisticsSummary(
                name: fileName(head.path), allocatedSectors: head.allocatedSectors, writtenSectors: head.writtenSectors,
                writtenPercent: percent(head.writtenSectors, head.allocatedSectors), notInParent: nil,
                notInParentPercent: 0, notInAncestors: nil, notInAncestorsPercent: 0)
        ]
        let limit = head.totalSectors
        var seen = head.clippedBitmaps(limit: limit)
        var previous = seen
        for current in ordered.dropFirst() {
            let bitmaps = current.clippedBitmaps(limit: limit)
            var notInParent: UInt64 = 0
            var notInAncestors: UInt64 = 0
            for (block, bitmap) in bitmaps {
                let parent = previous[block]
                var union = seen[block] ?? [UInt8](repeating: 0, count: bitmap.count)
                for index in bitmap.indices {
                    notInParent += UInt64((bitmap[index] & ~(parent?[index] ?? 0)).nonzeroBitCount)
                    notInAncestors += UInt64((bitmap[index] & ~union[index]).nonzeroBitCount)
                    union[index] |= bitmap[index]
                }
                seen[block] = union
            }
            result.append(
                StatisticsSummary(
                    name: fileName(current.path), allocatedSectors: current.allocatedSectors,
                    writtenSectors: current.writtenSectors,
                    writtenPercent: percent(current.writtenSectors, current.allocatedSectors),
                    notInParent: notInParent, notInParentPercent: percent(notInParent, current.writtenSectors),
                    notInAncestors: notInAncestors,
                    notInAncestorsPercent: percent(notInAncestors, current.writtenSectors)))
            previous = bitmaps
        }
        return result
    }

    /// blktap's `pct`: a `float` quotient times the `double` 100.0, returned as `float`.
    public static func percent(_ numerator: UInt64, _ denominator: UInt64) -> Float {
        denominator == 0 ? 0 : Float(Double(Float(numerator) / Float(denominator)) * 100.0)
    }

    /// blktap's `name()`: the part after the last `/`.
    static func fileName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}

extension Check.Statistics {
    /// The block bitmaps with every sector at or past `limit` cleared.
    func clippedBitmaps(limit: UInt64) -> [Int: [UInt8]] {
        var result: [Int: [UInt8]] = [:]
        for (block, bitmap) in blockBitmaps {
            let base = UInt64(block) * sectorsPerBlock
            guard base < limit else { continue }
            var clipped = bitmap
            if base + sectorsPerBlock > limit {
                for sector in Int(limit - base)..<Int(sectorsPerBlock) {
                    clipped[sector >> 3] &= ~(0x80 >> UInt8(sector & 7))
                }
            }
            result[block] = clipped
        }
        return result
    }
}
