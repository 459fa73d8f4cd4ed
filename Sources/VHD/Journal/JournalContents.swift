import BlockIO
import VHDFormat

/// A journal read by blktap's rules (`vhd_journal_open`, `vhd_journal_restore_metadata`,
/// `vhd_journal_revert`), as the writes that undo it: whoever wrote it, blktap or us.
///
/// The metadata entries come in blktap's order from offset 512 (primary footer; then, for a
/// dynamic or differencing disk, footer copy, header, one entry per used locator, BAT, and a
/// batmap header and map where there is a batmap); the data entries follow from the header's
/// data offset. Each goes back where blktap puts it: the primary footer at the journaled
/// footer offset, the locators at the journaled header's locator offsets, the batmap header
/// after the journaled BAT; the data at the offsets its entries name.
struct JournalContents {
    let journalName: String
    let header: JournalHeader
    /// Metadata writes, in blktap's order; empty for a committed journal.
    var metadata: [(offset: UInt64, bytes: [UInt8])] = []
    /// Data writes, in journal order (later entries win where they overlap).
    var data: [(offset: UInt64, bytes: [UInt8])] = []

    /// Whether the operation committed (`vhd_journal_commit` zeroes the counts), or never
    /// journaled anything: there is nothing to put back.
    var isEmpty: Bool { header.metadataEntries == 0 && header.dataEntries == 0 }

    init(reading journal: any BlockStore) throws(VHDError) {
        journalName = journal.name
        let bytes = try Self.read(journal, count: JournalHeader.size, at: 0, name: journal.name, what: "the header")
        guard let header = JournalHeader(decoding: bytes) else {
            throw .invalid(image: journal.name, problem: "not a VHD journal (no vjournal cookie)")
        }
        self.header = header
        guard header.dataOffset <= header.journalEOF, header.metadataOffset <= header.journalEOF else {
            throw .invalid(
                image: journal.name,
                problem: "journal offsets (data \(header.dataOffset), metadata \(header.metadataOffset)) lie past its end (\(header.journalEOF))")
        }
        guard !isEmpty else { return }
        var reader = EntryReader(journal: journal, offset: UInt64(JournalHeader.size))
        try readMetadata(&reader)
        // Our journals of old left the data offset 0 when they held no data; blktap always sets it.
        if header.dataOffset != reader.offset && !(header.dataEntries == 0 && header.dataOffset == 0) {
            throw .invalid(
                image: journal.name,
                problem: "the metadata entries end at \(reader.offset), not at the data offset \(header.dataOffset)")
        }
        reader.offset = header.dataOffset
        for index in 0..<Int(header.dataEntries) {
            let (entry, payload) = try reader.next("data entry \(index)")
            guard entry.kind == .data else { throw reader.problem("data entry \(index) is of type \(entry.kind.rawValue)") }
            data.append((entry.offset, payload))
        }
    }

    /// The metadata entries, checked as `vhd_journal_restore_metadata` checks them.
    private mutating func readMetadata(_ reader: inout EntryReader) throws(VHDError) {
        let footerBytes = try reader.expect(.footerPrimary, size: Footer.size)
        let footer = try decodeFooter(footerBytes, reader)
        metadata.append((header.footerOffset, footerBytes))
        guard footer.diskType?.isSparse == true else { return try checkCount(reader) }
        let copy = try reader.expect(.footerCopy, size: Footer.size)
        _ = try decodeFooter(copy, reader)
        metadata.append((0, copy))
        let headerBytes = try reader.expect(.header, size: DynamicHeader.size)
        let dynamic: DynamicHeader
        do { dynamic = try DynamicHeader(decoding: headerBytes) } catch { throw reader.problem("header entry: \(error)") }
        guard dynamic.hasValidCookie, dynamic.isChecksumValid else { throw reader.problem("header entry is not a valid header") }
        metadata.append((footer.dataOffset, headerBytes))
        for (slot, locator) in dynamic.usedLocators {
            let (entry, payload) = try reader.next("locator \(slot)")
            guard entry.kind == .locator else { throw reader.problem("expected \(dynamic.usedLocators.count) locator entries") }
            guard UInt64(payload.count) == locator.dataSpaceBytes else {
                throw reader.problem("locator \(slot) entry holds \(payload.count) bytes, its space is \(locator.dataSpace)")
            }
            metadata.append((locator.dataOffset, payload))
        }
        let batSize = Int(BlockAllocationTable.paddedSize(entries: Int(dynamic.maxTableEntries)))
        let (batEntry, bat) = try reader.next("BAT")
        guard batEntry.kind == .bat, bat.count == batSize, batEntry.offset == dynamic.tableOffset else {
            throw reader.problem(
                "expected the BAT (\(batSize) bytes at \(dynamic.tableOffset)), found a type \(batEntry.kind.rawValue) entry of \(bat.count) bytes at \(batEntry.offset)")
        }
        metadata.append((dynamic.tableOffset, bat))
        // A batmap is journaled exactly when `vhd_has_batmap` held; its header comes next.
        guard reader.offset < header.dataOffset || header.dataOffset == 0, try reader.peekKind() == .batmapHeader else {
            return try checkCount(reader)
        }
        let batmapBytes = try reader.expect(.batmapHeader, size: BatmapHeader.size)
        let batmap: BatmapHeader
        do { batmap = try BatmapHeader(decoding: batmapBytes) } catch { throw reader.problem("batmap header entry: \(error)") }
        guard batmap.hasValidCookie, batmap.version <= BatmapHeader.currentVersion else {
            throw reader.problem("batmap header entry is not a valid batmap header")
        }
        metadata.append((Layout.batmapHeaderOffset(header: dynamic), batmapBytes))
        let (mapEntry, map) = try reader.next("batmap")
        guard mapEntry.kind == .batmapMap, map.count == Int(batmap.mapSectors) * 512, mapEntry.offset == batmap.mapOffset else {
            throw reader.problem("expected the batmap (\(batmap.mapSectors) sectors at \(batmap.mapOffset))")
        }
        metadata.append((batmap.mapOffset, map))
        try checkCount(reader)
    }

    private func decodeFooter(_ bytes: [UInt8], _ reader: EntryReader) throws(VHDError) -> Footer {
        guard let footer = try? Footer(decoding: bytes), footer.hasValidCookie || footer.isPoisoned, footer.isChecksumValid
        else { throw reader.problem("footer entry is not a valid footer") }
        return footer
    }

    private func checkCount(_ reader: EntryReader) throws(VHDError) {
        guard reader.count == Int(header.metadataEntries) else {
            throw reader.problem("the header counts \(header.metadataEntries) metadata entries, the journal holds \(reader.count)")
        }
    }

    /// Puts everything back on `vhd`: the metadata, the length (for a store that can change
    /// it), the data, the length again (data entries of blocks moved twice may lie past it),
    /// then enables the VHD and flushes.
    func revert(_ vhd: any BlockStore) throws(VHDError) {
        let length = header.footerOffset + UInt64(Footer.size)
        try VHDError.wrap { () throws(BlockIOError) in
            for (offset, bytes) in metadata { try vhd.write(bytes, at: offset) }
            if !isEmpty && vhd.canGrow && vhd.size != length { try vhd.resize(to: length) }
            for (offset, bytes) in data { try vhd.write(bytes, at: offset) }
            if !isEmpty && vhd.canGrow && vhd.size != length { try vhd.resize(to: length) }
        }
        try Journal.enable(vhd)
        try VHDError.wrap { () throws(BlockIOError) in try vhd.flush() }
    }

    static func read(_ store: any BlockStore, count: Int, at offset: UInt64, name: String, what: String)
        throws(VHDError) -> [UInt8]
    {
        guard offset <= store.size, store.size - offset >= UInt64(count) else {
            throw .invalid(image: name, problem: "journal truncated: \(what) (\(count) bytes at \(offset)) lies past its end")
        }
        return try VHDError.wrap { () throws(BlockIOError) in try store.read(count: count, at: offset) }
    }
}

/// Walks a journal's entries from `offset`, checking each as blktap does
/// (`vhd_journal_validate_entry`), and its checksum (padding included) as blktap checks data.
struct EntryReader {
    let journal: any BlockStore
    var offset: UInt64
    /// Entries read so far.
    var count = 0

    init(journal: any BlockStore, offset: UInt64) {
        self.journal = journal
        self.offset = offset
    }

    mutating func next(_ what: String) throws(VHDError) -> (JournalEntry, [UInt8]) {
        let record = try JournalContents.read(journal, count: JournalEntry.size, at: offset, name: journal.name, what: what)
        guard let entry = JournalEntry(decoding: record), entry.hasValidSize else {
            throw problem("\(what): no valid entry at \(offset)")
        }
        let payload = try JournalContents.read(
            journal, count: Int(entry.size), at: offset + UInt64(JournalEntry.size), name: journal.name, what: what)
        guard entry.verifies(payload) else { throw problem("\(what): entry at \(offset) fails its checksum") }
        offset += UInt64(JournalEntry.size) + UInt64(entry.size)
        count += 1
        return (entry, payload)
    }

    /// The next entry's payload, which must be of `kind` and `size` bytes.
    mutating func expect(_ kind: JournalEntry.Kind, size: Int) throws(VHDError) -> [UInt8] {
        let (entry, payload) = try next("\(kind) entry")
        guard entry.kind == kind, payload.count == size else {
            throw problem("expected a \(kind) entry of \(size) bytes, found type \(entry.kind.rawValue) of \(payload.count)")
        }
        return payload
    }

    /// The kind of the entry at `offset`, nil when none is there.
    func peekKind() throws(VHDError) -> JournalEntry.Kind? {
        guard offset <= journal.size, journal.size - offset >= UInt64(JournalEntry.size) else { return nil }
        let record = try VHDError.wrap { () throws(BlockIOError) in try journal.read(count: JournalEntry.size, at: offset) }
        return JournalEntry(decoding: record)?.kind
    }

    func problem(_ text: String) -> VHDError { .invalid(image: journal.name, problem: "journal \(text)") }
}
