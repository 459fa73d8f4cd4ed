import BlockIO
import VHDFormat

/// Writes blktap's undo journal for one VHD as an operation runs (`vhd_journal_create`,
/// `vhd_journal_add_block`): the header, the metadata in blktap's order (primary footer,
/// footer copy, header, each used locator, BAT, batmap header, batmap map), then data entries
/// saving each region just before it is overwritten.
///
/// Payloads are made durable before the header that counts them, and the header before the
/// VHD is touched, so after a crash anywhere the journal undoes exactly what reached the VHD.
/// `preserve` saves whatever part of a range no entry holds yet, so a revert puts back every
/// byte of the file, padding included.
final class JournalWriter {
    let vhd: any BlockStore
    let journal: any BlockStore
    /// The VHD's length when journaling began: a revert cuts the file back to it, so bytes
    /// past it need no saving.
    let originalLength: UInt64
    private(set) var header: JournalHeader
    /// The ranges of the VHD whose original bytes the journal holds: sorted, disjoint.
    private var saved: [Range<UInt64>] = []
    /// The largest data entry `preserve` writes, as large as a block's.
    static let maximumEntry: UInt64 = 2 << 20

    /// Journals `image`'s metadata into the empty `journal`. The primary footer must be the
    /// last 512 bytes of the store, as blktap requires (`vhd_journal_add_footer`).
    init(image: Image, journal: any BlockStore) throws(VHDError) {
        vhd = image.store
        self.journal = journal
        originalLength = vhd.size
        guard case .primary(let offset) = image.footerSource, offset + UInt64(Footer.size) == originalLength else {
            throw .invalid(image: image.name, problem: "no valid primary footer at the end of the file to journal (run repair)")
        }
        header = JournalHeader(uuid: image.uuid, footerOffset: offset)
        try writeHeader()
        for (kind, range) in try Self.metadataRegions(of: image, footerOffset: offset) {
            try append(kind, range)
        }
        header.dataOffset = header.journalEOF
        try commitEntries()
    }

    /// The regions `vhd_journal_add_metadata` saves, in its order.
    static func metadataRegions(of image: Image, footerOffset: UInt64) throws(VHDError)
        -> [(JournalEntry.Kind, Range<UInt64>)]
    {
        var regions: [(JournalEntry.Kind, Range<UInt64>)] = [(.footerPrimary, footerOffset..<footerOffset + 512)]
        guard let header = image.header else { return regions }
        let dataOffset = image.footer.dataOffset
        regions.append((.footerCopy, 0..<512))
        regions.append((.header, dataOffset..<dataOffset + UInt64(DynamicHeader.size)))
        for (slot, locator) in header.usedLocators {
            guard let size = locator.dataSpaceBytes, size > 0 else {
                throw .invalid(image: image.name, problem: "parent locator \(slot) has an invalid data space \(locator.dataSpace)")
            }
            regions.append((.locator, locator.dataOffset..<locator.dataOffset + size))
        }
        let bat = BlockAllocationTable.paddedSize(entries: Int(header.maxTableEntries))
        regions.append((.bat, header.tableOffset..<header.tableOffset + bat))
        if let batmap = image.batmapHeader {
            let offset = Layout.batmapHeaderOffset(header: header)
            regions.append((.batmapHeader, offset..<offset + UInt64(BatmapHeader.size)))
            regions.append((.batmapMap, batmap.mapOffset..<batmap.mapOffset + UInt64(batmap.mapSectors) * sectorSize))
        }
        return regions
    }

    /// Saves `block`'s bitmap and data as two data entries, as `vhd_journal_add_block` does
    /// before a block moves.
    func saveBlock(at offset: UInt64, bitmapSize: UInt64, blockSize: UInt64) throws(VHDError) {
        try append(.data, offset..<offset + bitmapSize)
        try append(.data, offset + bitmapSize..<offset + bitmapSize + blockSize)
        try commitEntries()
    }

    /// Saves, as data entries, every part of `ranges` inside the original file that no entry
    /// holds yet: call it before overwriting them.
    func preserve(_ ranges: [Range<UInt64>]) throws(VHDError) {
        var appended = false
        for range in ranges {
            let clamped = range.clamped(to: 0..<originalLength)
            for piece in unsaved(clamped) {
                var start = piece.lowerBound
                while start < piece.upperBound {
                    let end = min(piece.upperBound, start + Self.maximumEntry)
                    try append(.data, start..<end)
                    appended = true
                    start = end
                }
            }
        }
        if appended { try commitEntries() }
    }

    /// Marks the operation done (`vhd_journal_commit`): no entries, and the journal cut to its
    /// header where it can shrink.
    func commit() throws(VHDError) {
        header.dataEntries = 0
        header.metadataEntries = 0
        header.dataOffset = 0
        header.metadataOffset = 0
        try writeHeader()
        try VHDError.wrap { () throws(BlockIOError) in
            if journal.canGrow { try journal.resize(to: UInt64(JournalHeader.size)) }
            try journal.flush()
        }
    }

    /// Appends one entry holding the VHD's bytes over `range` (zeros past its end), without
    /// yet counting it in the header on disk.
    private func append(_ kind: JournalEntry.Kind, _ range: Range<UInt64>) throws(VHDError) {
        let count = Int(range.upperBound - range.lowerBound)
        let available = vhd.size > range.lowerBound ? Int(min(UInt64(count), vhd.size - range.lowerBound)) : 0
        var payload = try VHDError.wrap { () throws(BlockIOError) in try vhd.read(count: available, at: range.lowerBound) }
        payload += [UInt8](repeating: 0, count: count - available)
        let entry = JournalEntry(kind: kind, offset: range.lowerBound, payload: payload)
        try VHDError.wrap { () throws(BlockIOError) in try journal.write(entry.encoded() + payload, at: header.journalEOF) }
        if kind == .data {
            if header.dataEntries == 0 { header.dataOffset = header.journalEOF }
            header.dataEntries += 1
        } else {
            if header.metadataEntries == 0 { header.metadataOffset = header.journalEOF }
            header.metadataEntries += 1
        }
        header.journalEOF += UInt64(JournalEntry.size + count)
        markSaved(range)
    }

    /// Makes the appended payloads durable, then the header that counts them.
    private func commitEntries() throws(VHDError) {
        try VHDError.wrap { () throws(BlockIOError) in try journal.flush() }
        try writeHeader()
    }

    private func writeHeader() throws(VHDError) {
        try VHDError.wrap { () throws(BlockIOError) in
            try journal.write(header.encoded(), at: 0)
            try journal.flush()
        }
    }

    /// The parts of `range` no saved range covers.
    private func unsaved(_ range: Range<UInt64>) -> [Range<UInt64>] {
        var pieces: [Range<UInt64>] = []
        var start = range.lowerBound
        for covered in saved where covered.upperBound > start && covered.lowerBound < range.upperBound {
            if covered.lowerBound > start { pieces.append(start..<covered.lowerBound) }
            start = max(start, covered.upperBound)
        }
        if start < range.upperBound { pieces.append(start..<range.upperBound) }
        return pieces
    }

    private func markSaved(_ range: Range<UInt64>) {
        guard !range.isEmpty else { return }
        var merged = range
        var kept: [Range<UInt64>] = []
        for covered in saved {
            if covered.upperBound < merged.lowerBound || covered.lowerBound > merged.upperBound {
                kept.append(covered)
            } else {
                merged = min(merged.lowerBound, covered.lowerBound)..<max(merged.upperBound, covered.upperBound)
            }
        }
        kept.append(merged)
        saved = kept.sorted { $0.lowerBound < $1.lowerBound }
    }
}
