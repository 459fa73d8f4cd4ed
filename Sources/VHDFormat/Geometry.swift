/// Cylinder/head/sector geometry, packed in the footer as cyl(16) heads(8) sectors(8).
public struct Geometry: Hashable, Sendable {
    public var cylinders: UInt16
    public var heads: UInt8
    public var sectorsPerTrack: UInt8

    public init(cylinders: UInt16, heads: UInt8, sectorsPerTrack: UInt8) {
        self.cylinders = cylinders
        self.heads = heads
        self.sectorsPerTrack = sectorsPerTrack
    }

    public init(packed: UInt32) {
        cylinders = UInt16(truncatingIfNeeded: packed >> 16)
        heads = UInt8(truncatingIfNeeded: packed >> 8)
        sectorsPerTrack = UInt8(truncatingIfNeeded: packed)
    }

    public var packed: UInt32 { UInt32(cylinders) << 16 | UInt32(heads) << 8 | UInt32(sectorsPerTrack) }

    /// The bytes the geometry addresses: c × h × s × 512.
    public var byteCount: UInt64 { UInt64(cylinders) * UInt64(heads) * UInt64(sectorsPerTrack) * 512 }

    /// The geometry blktap's `vhd_chs()` computes for `size` bytes: the spec's algorithm, with
    /// the sector count rounded up and truncated to 32 bits, so sizes of 2 TiB and more wrap
    /// exactly as they do in blktap (2 TiB gives 0/4/17).
    public static func blktap(forSize size: UInt64) -> Geometry {
        let roundedSectors = divideRoundingUp(size, sectorSize)
        var sectors = UInt64(UInt32(truncatingIfNeeded: roundedSectors))
        if sectors == 0 && roundedSectors == 0 { sectors = 1 }
        return spec(sectors: sectors)
    }

    /// The VHD specification's CHS algorithm ("CHS Calculation") for a sector count.
    public static func spec(sectors totalSectors: UInt64) -> Geometry {
        let sectors = min(totalSectors, 65535 * 16 * 255)
        var sectorsPerTrack: UInt64
        var heads: UInt64
        var cylinderTimesHeads: UInt64
        if sectors >= 65535 * 16 * 63 {
            sectorsPerTrack = 255
            heads = 16
            cylinderTimesHeads = sectors / sectorsPerTrack
        } else {
            sectorsPerTrack = 17
            cylinderTimesHeads = sectors / sectorsPerTrack
            heads = max((cylinderTimesHeads + 1023) / 1024, 4)
            if cylinderTimesHeads >= heads * 1024 || heads > 16 {
                sectorsPerTrack = 31
                heads = 16
                cylinderTimesHeads = sectors / sectorsPerTrack
            }
            if cylinderTimesHeads >= heads * 1024 {
                sectorsPerTrack = 63
                heads = 16
                cylinderTimesHeads = sectors / sectorsPerTrack
            }
        }
        return Geometry(
            cylinders: UInt16(truncatingIfNeeded: cylinderTimesHeads / heads),
            heads: UInt8(truncatingIfNeeded: heads),
            sectorsPerTrack: UInt8(truncatingIfNeeded: sectorsPerTrack))
    }
}
