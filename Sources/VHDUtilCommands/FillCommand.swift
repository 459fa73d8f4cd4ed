import VHD

/// `vhd-util fill -n NAME [-b [-f SEC] [-t SEC] [-B]]`: allocates every block, copying the
/// chain's data into it, or with `-b` only gives blocks a place and full bitmaps.
struct FillCommand: Subcommand {
    static let name = "fill"
    static let optionString = "n:f:t:bBh"
    static let usage = Usage.fill

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var path: String?
        var from: UInt64 = .max
        var to: UInt64 = .max
        var bitmapsOnly = false
        var ignoreLimit = false
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("n", let value): path = value
            case .option("f", let value?): from = CFormat.strtoull(value)
            case .option("t", let value?): to = CFormat.strtoull(value)
            case .option("b", _): bitmapsOnly = true
            case .option("B", _): ignoreLimit = true
            default: return usage(console, status: Errno.invalid)
            }
        }
        guard let path, getopt.operands.isEmpty else { return usage(console, status: Errno.invalid) }
        if (from != .max || to != .max) && !bitmapsOnly {
            console.print("-f/-t can only be used with -b")
            return usage(console, status: Errno.invalid)
        }
        if from != .max && to != .max && to < from {
            console.print("invalid sector range \(from)-\(to)")
            return usage(console, status: Errno.invalid)
        }
        if ignoreLimit && !bitmapsOnly {
            console.print("-B can only be used with -b")
            return usage(console, status: Errno.invalid)
        }
        if let error = WritableAccess.openError(path) {
            console.log(error)
            console.print("error opening \(path): -\(error.errno)")
            return error.errno
        }
        guard let image = try? Image.open(path: path, options: .libvhd()).libvhd, let bat = try? image.bat() else { return Errno.invalid }
        do {
            if bitmapsOnly {
                if !ignoreLimit, let extent = firstExtentPastLimit(image, bat: bat, from: from, to: to) {
                    console.print("sector offset for extent \(extent) exceeds the 2 TB limit")
                    return Errno.overflow
                }
                try Fill.bitmapsOnly(
                    path: path, fromSector: from == .max ? nil : from, toSector: to == .max ? nil : to,
                    ignoreTwoTerabyteLimit: ignoreLimit)
            } else {
                try Fill.file(path: path)
            }
            return 0
        } catch {
            console.log(error)
            return error.errno
        }
    }

    /// The first block `fill -b` would place at a sector offset beyond 32 bits (blktap's 2 TB
    /// limit), nil when all fit.
    static func firstExtentPastLimit(_ image: Image.Libvhd, bat: [UInt32], from: UInt64, to: UInt64) -> Int? {
        let spb = image.sectorsPerBlock
        guard spb > 0, !bat.isEmpty, var next = try? image.endOfData() >> 9 else { return nil }
        let first = Int(from == .max ? 0 : from / spb)
        let last = Int(min(to == .max ? UInt64(bat.count - 1) : to / spb, UInt64(bat.count - 1)))
        guard first <= last else { return nil }
        let bitmapSectors = image.bitmapSectors
        for block in first...last where bat[block] == 0xFFFF_FFFF {
            let misalignment = (next + bitmapSectors) % 8
            if misalignment != 0 { next += 8 - misalignment }
            if next > UInt64(UInt32.max) { return block }
            next += bitmapSectors + spb
        }
        return nil
    }
}
