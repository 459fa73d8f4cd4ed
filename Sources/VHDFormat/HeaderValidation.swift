/// The rules a dynamic header must satisfy before it is used, in one of two strengths.
public enum HeaderValidation {
    /// Which reader's rules apply.
    public enum Rules: Sendable, Equatable {
        /// The engine's: blktap's `vhd_validate_header` plus the bounds QEMU's `vpc_open`
        /// checks (block size up to 256 MiB, BAT inside the file and large enough for the disk),
        /// so hostile values never lead to huge allocations or reads outside the file.
        case engine
        /// libvhd's `vhd_validate_header` alone (block size a power of two up to 2 MiB): what
        /// `vhd-util` accepts at open; the BAT is checked only when it is read.
        case libvhd
    }

    /// The largest block size the engine accepts: blktap writes 2 MiB; any power of two up to this reads.
    public static let maxBlockSize: UInt32 = 1 << 28
    /// The largest block size libvhd accepts (`VHD_BLOCK_SIZE`).
    public static let libvhdMaxBlockSize: UInt32 = 1 << 21

    /// The first problem with `header`, or nil when it is usable under `rules`.
    public static func firstProblem(
        _ header: DynamicHeader, footer: Footer, storeSize: UInt64, rules: Rules = .engine
    ) -> String? {
        if !header.hasValidCookie { return "invalid cookie" }
        if header.headerVersion != DynamicHeader.headerVersion {
            return "invalid header version 0x\(hex8(header.headerVersion))"
        }
        if header.dataOffset != .max { return "invalid data offset" }
        for (slot, locator) in header.locators.enumerated() where locator.platformCode == nil {
            return "invalid parent locator code 0x\(hex8(locator.platformCodeValue)) in slot \(slot)"
        }
        if !header.isChecksumValid {
            return "invalid checksum: stored 0x\(hex8(header.storedChecksum)), computed 0x\(hex8(header.computedChecksum))"
        }
        let blockSize = header.blockSize
        let (smallest, largest) = rules == .engine ? (UInt32(512), maxBlockSize) : (UInt32(1), libvhdMaxBlockSize)
        if blockSize < smallest || blockSize > largest || blockSize & (blockSize - 1) != 0 {
            return "invalid block size \(blockSize)"
        }
        guard rules == .engine else { return nil }
        if header.tableOffset == 0 || header.tableOffset % 512 != 0 {
            return "invalid table offset \(header.tableOffset)"
        }
        let tableEnd = header.tableOffset.addingReportingOverflow(UInt64(header.maxTableEntries) * 4)
        if tableEnd.overflow || tableEnd.partialValue > storeSize {
            return "BAT of \(header.maxTableEntries) entries at \(header.tableOffset) extends past the end of the \(storeSize)-byte file"
        }
        let needed = Layout.blockCount(size: footer.currentSize, blockSize: blockSize)
        if UInt64(header.maxTableEntries) < needed {
            return "BAT has \(header.maxTableEntries) entries but a \(footer.currentSize)-byte disk needs \(needed)"
        }
        return nil
    }
}

/// The rules a batmap header must satisfy (blktap `vhd_validate_batmap_header` and `check`).
public enum BatmapValidation {
    public static func firstProblem(_ batmap: BatmapHeader, header: DynamicHeader, storeSize: UInt64) -> String? {
        if !batmap.hasValidCookie { return "invalid cookie" }
        if batmap.version > BatmapHeader.currentVersion { return "unsupported batmap version" }
        if batmap.mapSectors == 0 { return "invalid size zero" }
        if UInt64(batmap.mapSectors) * 4096 < UInt64(header.maxTableEntries) { return "batmap-BAT size mismatch" }
        if batmap.mapOffset == 0 || batmap.mapOffset % 512 != 0 { return "invalid batmap offset" }
        let end = batmap.mapOffset.addingReportingOverflow(UInt64(batmap.mapSectors) * sectorSize)
        if end.overflow || end.partialValue > storeSize { return "invalid batmap size" }
        return nil
    }
}

/// `value` as eight lower-case hex digits.
public func hex8(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
