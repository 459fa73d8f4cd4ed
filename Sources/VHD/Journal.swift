import BlockIO
import Glibc
import VHDFormat

/// blktap's undo journal (`libvhd-journal.c`) over two stores: the regions a journaled
/// operation will overwrite are saved first, the VHD is disabled with the poison cookie, and
/// `revert` puts every saved region back, cuts the file to its old length and re-enables it.
public enum Journal {
    /// A region of the VHD to save before it is overwritten.
    public struct Region: Sendable {
        public var kind: JournalEntry.Kind
        public var offset: UInt64
        public var count: Int
        public init(kind: JournalEntry.Kind, offset: UInt64, count: Int) {
            self.kind = kind
            self.offset = offset
            self.count = count
        }
    }

    /// The metadata regions of `image`: both footers, header, locators, BAT and batmap.
    public static func metadataRegions(of image: Image, footerOffset: UInt64) -> [Region] {
        var regions = [Region(kind: .footerPrimary, offset: footerOffset, count: Footer.size)]
        guard let header = image.header else { return regions }
        regions.append(Region(kind: .footerCopy, offset: 0, count: Footer.size))
        regions.append(Region(kind: .header, offset: image.footer.dataOffset, count: DynamicHeader.size))
        for (_, locator) in header.usedLocators {
            regions.append(Region(kind: .locator, offset: locator.dataOffset, count: Int(locator.dataSpaceBytes ?? 512)))
        }
        regions.append(
            Region(kind: .bat, offset: header.tableOffset, count: Int(BlockAllocationTable.paddedSize(entries: Int(header.maxTableEntries)))))
        if let batmap = image.batmapHeader {
            regions.append(Region(kind: .batmapHeader, offset: Layout.batmapHeaderOffset(header: header), count: BatmapHeader.size))
            regions.append(Region(kind: .batmapMap, offset: batmap.mapOffset, count: Int(batmap.mapSectors) * Int(sectorSize)))
        }
        return regions
    }

    /// Saves `regions` of `vhd` into the empty `journal`, then disables the VHD by writing its
    /// footers with the poison cookie. Everything is flushed before it returns.
    public static func begin(
        vhd image: Image, footerOffset: UInt64, regions: [Region], into journal: any BlockStore
    ) throws(VHDError) {
        let store = image.store
        var header = JournalHeader(uuid: image.uuid, footerOffset: footerOffset)
        var offset = UInt64(JournalHeader.size)
        try VHDError.wrap { () throws(BlockIOError) in
            for region in regions {
                let available = store.size > region.offset ? min(UInt64(region.count), store.size - region.offset) : 0
                var payload = try store.read(count: Int(available), at: region.offset)
                payload += [UInt8](repeating: 0, count: Int(roundUp(UInt64(region.count), to: sectorSize)) - payload.count)
                let entry = JournalEntry(kind: region.kind, offset: region.offset, payload: payload)
                if region.kind == .data {
                    if header.dataEntries == 0 { header.dataOffset = offset }
                    header.dataEntries += 1
                } else {
                    if header.metadataEntries == 0 { header.metadataOffset = offset }
                    header.metadataEntries += 1
                }
                try journal.write(entry.encoded() + payload, at: offset)
                offset += UInt64(JournalEntry.size + payload.count)
            }
            header.journalEOF = offset
            try journal.write(header.encoded(), at: 0)
            try journal.flush()
            var poisoned = image.footer
            poisoned.cookie = Array(Footer.poisonCookie.utf8)
            let bytes = poisoned.encoded()
            try store.write(bytes, at: footerOffset)
            if image.diskType.isSparse { try store.write(bytes, at: 0) }
            try store.flush()
        }
    }

    /// Undoes a journaled operation: restores every saved metadata region, cuts the VHD to
    /// its journaled length, restores the saved data, and flushes. Safe to run again after a
    /// crash part-way.
    public static func revert(vhd store: any BlockStore, journal: any BlockStore) throws(VHDError) {
        let entries = try readEntries(journal)
        try VHDError.wrap { () throws(BlockIOError) in
            for (entry, payload) in entries.entries where entry.kind != .data {
                try store.write(payload, at: entry.offset)
            }
            let length = entries.header.footerOffset + UInt64(Footer.size)
            if store.canGrow && store.size != length { try store.resize(to: length) }
            for (entry, payload) in entries.entries where entry.kind == .data {
                try store.write(payload, at: entry.offset)
            }
            try store.flush()
        }
    }

    static func readEntries(_ journal: any BlockStore) throws(VHDError)
        -> (header: JournalHeader, entries: [(JournalEntry, [UInt8])])
    {
        try VHDError.wrap { () throws(BlockIOError) -> (JournalHeader, [(JournalEntry, [UInt8])]) in
            guard journal.size >= UInt64(JournalHeader.size),
                let header = JournalHeader(decoding: try journal.read(count: JournalHeader.size, at: 0))
            else { throw .unsupported(store: journal.name, operation: "reading a journal without a valid header") }
            var entries: [(JournalEntry, [UInt8])] = []
            var offset = UInt64(JournalHeader.size)
            let total = Int(header.dataEntries) + Int(header.metadataEntries)
            while entries.count < total, offset + UInt64(JournalEntry.size) <= journal.size {
                guard let entry = JournalEntry(decoding: try journal.read(count: JournalEntry.size, at: offset)),
                    offset + UInt64(JournalEntry.size) + UInt64(entry.size) <= journal.size
                else { throw .unsupported(store: journal.name, operation: "reading journal entry \(entries.count)") }
                let payload = try journal.read(count: Int(entry.size), at: offset + UInt64(JournalEntry.size))
                guard entry.verifies(payload) else {
                    throw .unsupported(store: journal.name, operation: "reading journal entry \(entries.count): bad checksum")
                }
                entries.append((entry, payload))
                offset += UInt64(JournalEntry.size) + UInt64(entry.size)
            }
            guard entries.count == total else {
                throw .unsupported(store: journal.name, operation: "reading a truncated journal")
            }
            return (header, entries)
        }
    }

    /// Reverts `path` from the journal file at `journalPath`, then deletes the journal.
    public static func revert(path: String, journalPath: String) throws(VHDError) {
        try revert(vhd: try FileAccess.store(path, writable: true), journal: try FileAccess.store(journalPath, writable: false))
        try removeJournal(journalPath)
    }

    static func removeJournal(_ path: String) throws(VHDError) {
        if unlink(path) != 0 && errno != 2 { throw .io(.system(call: "unlink", errno: errno, path: path)) }
    }
}
