/// The Block Allocation Table: one big-endian u32 per block, the absolute *sector* offset of the
/// block's sector bitmap, or `unused` (VHD spec, "Block Allocation Table and Data Blocks").
public struct BlockAllocationTable: Hashable, Sendable {
    public static let unused: UInt32 = 0xFFFF_FFFF

    public var entries: [UInt32]

    public init(count: Int) { entries = [UInt32](repeating: BlockAllocationTable.unused, count: count) }

    public init(entries: [UInt32]) { self.entries = entries }

    /// Decodes `count` entries that `fill` writes, in their on-disk (big-endian) form, into the
    /// table's own storage: a 2 TiB disk's BAT is 4 MiB, read on every open, and a second
    /// buffer of it costs as much again in fresh pages.
    public init<Failure: Error>(
        count: Int, filledBy fill: (UnsafeMutableRawBufferPointer) throws(Failure) -> Void
    ) throws(Failure) {
        var failure: Failure?
        entries = [UInt32](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(Failure) {
                try fill(UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                return
            }
            for index in 0..<count { buffer[index] = UInt32(bigEndian: buffer[index]) }
            initialized = count
        }
        if let failure { throw failure }
    }

    /// Decodes `count` entries from the start of `bytes`.
    public init(decoding bytes: [UInt8], count: Int) throws(VHDFormatError) {
        guard bytes.count >= count * 4 else {
            throw .truncated(structure: "BAT", expected: count * 4, got: bytes.count)
        }
        // Copied in one go and swapped in place: a 2 TiB disk's BAT has a million entries, read
        // on every open, so this is on the path of every attach and every datapath resume.
        entries = [UInt32](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[..<(count * 4)]))
            }
            for index in 0..<count { buffer[index] = UInt32(bigEndian: buffer[index]) }
            initialized = count
        }
    }

    public var count: Int { entries.count }

    public subscript(block: Int) -> UInt32 {
        get { entries[block] }
        set { entries[block] = newValue }
    }

    public func isAllocated(_ block: Int) -> Bool { entries[block] != BlockAllocationTable.unused }

    public var allocatedCount: Int { entries.reduce(0) { $0 + ($1 == BlockAllocationTable.unused ? 0 : 1) } }

    /// The BAT's bytes padded to a whole sector; padding is zero, as blktap writes it.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(BlockAllocationTable.paddedSize(entries: entries.count)))
        bytes.withUnsafeMutableBytes { raw in
            for (index, entry) in entries.enumerated() {
                raw.storeBytes(of: entry.bigEndian, toByteOffset: index * 4, as: UInt32.self)
            }
        }
        return bytes
    }

    /// The 512-byte sector of the encoded table that holds `block`'s entry, and its byte offset
    /// within the table: what to rewrite after changing one entry.
    public func encodedSector(containing block: Int) -> (offsetInTable: UInt64, bytes: [UInt8]) {
        let entriesPerSector = Int(sectorSize) / 4
        let first = block / entriesPerSector * entriesPerSector
        var bytes = [UInt8](repeating: 0, count: Int(sectorSize))
        for index in first..<min(first + entriesPerSector, entries.count) {
            bytes.setBigEndian(entries[index], at: (index - first) * 4)
        }
        return (UInt64(first * 4), bytes)
    }

    /// Bytes of a table of `entries` entries, padded to a sector and never less than one:
    /// blktap's `vhd_bytes_padded` rounds 0 up to a sector, so an empty BAT still takes one and
    /// the batmap of a 0-byte disk sits at 2048, where blktap's `check` looks for it.
    public static func paddedSize(entries: Int) -> UInt64 { max(sectorSize, roundUp(UInt64(entries) * 4, to: sectorSize)) }
}
