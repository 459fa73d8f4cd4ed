import VHD
import VHDFormat

/// What blktap's `vhd-util resize -n x.vhd -s 600 -j J` leaves behind when stopped at each of
/// its failure points, byte for byte, for the 10 MiB disk `BlktapResizeFixture.makeDisk`
/// makes (16 sectors written at 0): blktap itself is not installable here, so this is its
/// behaviour written out from `libvhd-journal.c` and `vhd-util-resize.c` (VHD.md §2.7–2.8),
/// with every offset worked out by hand rather than by the code under test.
///
/// The disk: footer copy @0, header @512, BAT @1536 (5 entries), batmap header @2048, map
/// @2560 (one sector), metadata ending at 3072; block 0's bitmap @3584 (page-aligned data
/// @4096), primary footer @2101248, 2101760 bytes in all.
///
/// The grow to 300 entries needs 1024 more BAT bytes (1200 > 492 spare), the batmap none
/// (37 ≤ 511 spare): `size_needed` 1024, so block 0 (3584 ≤ 3072 + 1024) moves to the end
/// of the data, 2101248, plus a 3584-byte zero gap for page alignment: to 2104832.
struct BlktapResizeFixture {
    /// blktap's failure points, in order.
    enum Point: String, CaseIterable, Sendable {
        case begin = "RESIZE_BEGIN"
        case dataMoved = "RESIZE_DATA_MOVED"
        case metadataMoved = "RESIZE_METADATA_MOVED"
        case end = "RESIZE_END"
    }

    static let size: UInt64 = 600 << 20
    static let footerOffset = 2_101_248
    static let movedTo = 2_104_832
    static let span = 512 + (2 << 20)

    /// The disk before the resize.
    let original: [UInt8]
    /// The four bytes of struct padding after each entry's checksum: blktap never sets them
    /// (`vhd_journal_entry_t entry;` on its stack) but sums them into the checksum.
    let padding: [UInt8]

    /// The 10 MiB disk with 16 sectors of a pattern at 0, in `workspace` as `name`.
    static func makeDisk(_ workspace: Workspace, _ name: String) throws {
        let image = try workspace.create(name, megabytes: 10)
        let pattern = (0..<(16 * 512)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        try pattern.withUnsafeBytes { try image.write($0, at: 0) }
        try image.flush()
    }

    /// The journal blktap has written when it stops at `point`.
    func journal(at point: Point) -> [UInt8] {
        var entries: [(type: UInt32, offset: Int, payload: [UInt8])] = [
            (1, Self.footerOffset, slice(Self.footerOffset, 512)),  // primary footer, before it was poisoned
            (2, 0, slice(0, 512)),  // footer copy
            (3, 512, slice(512, 1024)),  // header
            (5, 1536, slice(1536, 512)),  // BAT: 5 entries, padded
            (6, 2048, slice(2048, 512)),  // batmap header
            (7, 2560, slice(2560, 512)),  // batmap map
        ]
        let metadataEnd = 512 + entries.reduce(0) { $0 + 32 + $1.payload.count }
        if point != .begin {
            entries.append((8, 3584, slice(3584, 512)))  // block 0's bitmap
            entries.append((8, 4096, slice(4096, 2 << 20)))  // block 0's data
        }
        var body: [UInt8] = []
        for entry in entries {
            body += record(entry.type, entry.offset, entry.payload, padding: padding)
            body += entry.payload
        }
        var header = [UInt8](repeating: 0, count: 512)
        header.replaceSubrange(0..<8, with: Array("vjournal".utf8))
        header.replaceSubrange(8..<24, with: slice(Self.footerOffset + 68, 16))  // the VHD's UUID
        put(UInt64(Self.footerOffset), into: &header, at: 24)
        put(UInt32(point == .begin ? 0 : 2), into: &header, at: 32)  // data entries
        put(UInt32(6), into: &header, at: 36)  // metadata entries
        put(UInt64(metadataEnd), into: &header, at: 40)  // data offset: right after the metadata
        put(UInt64(512), into: &header, at: 48)  // metadata offset
        let eof = UInt64(512 + body.count)
        for index in 0..<8 { header[56 + index] = UInt8(truncatingIfNeeded: eof >> (8 * index)) }  // host order
        return header + body
    }

    /// The disk as blktap leaves it when it stops at `point`.
    func disk(at point: Point) throws -> [UInt8] {
        let poisoned = try footer { $0.cookie = Array("v_poison".utf8) }
        var disk = original
        disk.replaceSubrange(0..<512, with: poisoned)
        disk.replaceSubrange(Self.footerOffset..<Self.footerOffset + 512, with: poisoned)
        guard point != .begin else { return disk }
        // vhd_move_block: zero gap over the old footer, the block copied after it, its old
        // place zeroed; the BAT on disk still points there until the end.
        disk.replaceSubrange(Self.footerOffset..<disk.count, with: [UInt8](repeating: 0, count: Self.movedTo - Self.footerOffset))
        disk += slice(3584, Self.span)
        disk.replaceSubrange(3584..<3584 + Self.span, with: [UInt8](repeating: 0, count: Self.span))
        guard point == .end else { return disk }
        // vhd_add_bat_entries: header, BAT, batmap (map @3584, header after the 3-sector BAT),
        // then the footers with the new size, still poisoned.
        var header = try DynamicHeader(decoding: slice(512, 1024))
        header.maxTableEntries = 300
        header.storedChecksum = header.computedChecksum
        disk.replaceSubrange(512..<1536, with: header.encoded())
        var bat = [UInt8](repeating: 0, count: 1536)
        put(UInt32(Self.movedTo / 512), into: &bat, at: 0)
        for entry in 1..<300 { put(UInt32.max, into: &bat, at: entry * 4) }
        disk.replaceSubrange(1536..<3072, with: bat)
        var batmap = try BatmapHeader(decoding: slice(2048, 512))
        batmap.mapOffset = 3584
        batmap.mapSectors = 1
        batmap.checksum = BatmapHeader.checksum(of: slice(2560, 512), currentSize: Self.size, version: batmap.version)
        disk.replaceSubrange(3072..<3584, with: batmap.encoded())
        disk.replaceSubrange(3584..<4096, with: slice(2560, 512))
        let grown = try footer {
            $0.cookie = Array("v_poison".utf8)
            $0.currentSize = Self.size
            $0.geometry = Geometry.blktap(forSize: Self.size)
        }
        disk.replaceSubrange(0..<512, with: grown)
        return disk + grown
    }

    /// What blktap's `vhd-util revert` makes of the disk and journal left at `point`: the
    /// original, except that after `RESIZE_END` the grown batmap header stays in the padding
    /// sector at 3072, which blktap never journals.
    func reverted(at point: Point) throws -> [UInt8] {
        guard point == .end else { return original }
        var disk = original
        disk.replaceSubrange(3072..<3584, with: try self.disk(at: .end)[3072..<3584])
        return disk
    }

    private func slice(_ offset: Int, _ count: Int) -> [UInt8] { Array(original[offset..<offset + count]) }

    /// The original primary footer after `change`, checksummed.
    private func footer(_ change: (inout Footer) -> Void) throws -> [UInt8] {
        var footer = try Footer(decoding: slice(Self.footerOffset, 512))
        change(&footer)
        footer.storedChecksum = footer.computedChecksum
        return footer.encoded()
    }

    /// A `vhd_journal_entry_t` as blktap writes it: big-endian fields, then the padding, and
    /// the checksum over all 32 bytes (checksum field 0) and the payload.
    private func record(_ type: UInt32, _ offset: Int, _ payload: [UInt8], padding: [UInt8]) -> [UInt8] {
        var record = [UInt8](repeating: 0, count: 32)
        put(UInt64(0xAAAA_1234_4321_AAAA), into: &record, at: 0)
        put(type, into: &record, at: 8)
        put(UInt32(payload.count), into: &record, at: 12)
        put(UInt64(offset), into: &record, at: 16)
        record.replaceSubrange(28..<32, with: padding)
        var sum: UInt32 = 0
        for byte in record + payload { sum &+= UInt32(byte) }
        put(~sum, into: &record, at: 24)
        return record
    }
}

private func put(_ value: UInt32, into bytes: inout [UInt8], at offset: Int) {
    for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (24 - 8 * index)) }
}

private func put(_ value: UInt64, into bytes: inout [UInt8], at offset: Int) {
    for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (56 - 8 * index)) }
}
