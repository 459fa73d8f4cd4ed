/// blktap's undo journal (`libvhd-journal.h`): a 512-byte header, then entries, each a 32-byte
/// record followed by its payload. Used by `resize -j` and `revert`.
public struct JournalHeader: Hashable, Sendable {
    public static let size = 512
    public static let cookie = "vjournal"

    public var uuid: VHDUUID
    /// Where the VHD's primary footer was when the journal was made.
    public var footerOffset: UInt64
    public var dataEntries: UInt32
    public var metadataEntries: UInt32
    public var dataOffset: UInt64
    public var metadataOffset: UInt64
    /// blktap stores this one field in host (little-endian) order; kept for compatibility.
    public var journalEOF: UInt64

    public init(
        uuid: VHDUUID, footerOffset: UInt64, dataEntries: UInt32 = 0, metadataEntries: UInt32 = 0,
        dataOffset: UInt64 = 0, metadataOffset: UInt64 = 0, journalEOF: UInt64 = 512
    ) {
        self.uuid = uuid
        self.footerOffset = footerOffset
        self.dataEntries = dataEntries
        self.metadataEntries = metadataEntries
        self.dataOffset = dataOffset
        self.metadataOffset = metadataOffset
        self.journalEOF = journalEOF
    }

    public init?(decoding bytes: [UInt8]) {
        guard bytes.count >= JournalHeader.size, bytes.asciiField(at: 0, count: 8) == JournalHeader.cookie else {
            return nil
        }
        uuid = VHDUUID(bytes: bytes.bytes(at: 8, count: 16))
        footerOffset = bytes.bigEndianUInt64(at: 24)
        dataEntries = bytes.bigEndianUInt32(at: 32)
        metadataEntries = bytes.bigEndianUInt32(at: 36)
        dataOffset = bytes.bigEndianUInt64(at: 40)
        metadataOffset = bytes.bigEndianUInt64(at: 48)
        var eof: UInt64 = 0
        for index in 0..<8 { eof |= UInt64(bytes[56 + index]) << (8 * index) }
        journalEOF = eof
    }

    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: JournalHeader.size)
        bytes.setBytes(Array(JournalHeader.cookie.utf8), at: 0)
        bytes.setBytes(uuid.bytes, at: 8)
        bytes.setBigEndian(footerOffset, at: 24)
        bytes.setBigEndian(dataEntries, at: 32)
        bytes.setBigEndian(metadataEntries, at: 36)
        bytes.setBigEndian(dataOffset, at: 40)
        bytes.setBigEndian(metadataOffset, at: 48)
        for index in 0..<8 { bytes[56 + index] = UInt8(truncatingIfNeeded: journalEOF >> (8 * index)) }
        return bytes
    }
}

/// One journal entry's 32-byte record (`vhd_journal_entry_t`): cookie, type, size, offset and
/// checksum, big-endian, then the 4 bytes of padding the C struct ends with. blktap never sets
/// that padding (it is whatever was on its stack) yet sums it into the checksum, so the bytes
/// read are kept and summed: zeroing them would reject blktap's own journals.
public struct JournalEntry: Hashable, Sendable {
    public static let size = 32
    public static let cookie: UInt64 = 0xAAAA_1234_4321_AAAA

    /// The kinds of saved region, in blktap's numbering.
    public enum Kind: UInt32, Sendable {
        case footerPrimary = 1
        case footerCopy = 2
        case header = 3
        case locator = 4
        case bat = 5
        case batmapHeader = 6
        case batmapMap = 7
        case data = 8
    }

    public var kind: Kind
    /// Payload bytes (a non-zero multiple of 512).
    public var size: UInt32
    /// Where in the VHD the payload belongs.
    public var offset: UInt64
    public var checksum: UInt32
    /// The struct padding after the checksum, as stored (zero in the journals we write).
    public var padding: [UInt8]

    public init(kind: Kind, offset: UInt64, payload: [UInt8]) {
        self.kind = kind
        self.size = UInt32(payload.count)
        self.offset = offset
        self.checksum = 0
        self.padding = [0, 0, 0, 0]
        self.checksum = JournalEntry.checksum(record: encodedRecord(checksum: 0), payload: payload)
    }

    /// Decodes a record; nil when its cookie or type is not one blktap writes.
    public init?(decoding bytes: [UInt8]) {
        guard bytes.count >= JournalEntry.size, bytes.bigEndianUInt64(at: 0) == JournalEntry.cookie,
            let kind = Kind(rawValue: bytes.bigEndianUInt32(at: 8))
        else { return nil }
        self.kind = kind
        size = bytes.bigEndianUInt32(at: 12)
        offset = bytes.bigEndianUInt64(at: 16)
        checksum = bytes.bigEndianUInt32(at: 24)
        padding = bytes.bytes(at: 28, count: 4)
    }

    public func encoded() -> [UInt8] { encodedRecord(checksum: checksum) }

    private func encodedRecord(checksum: UInt32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: JournalEntry.size)
        bytes.setBigEndian(JournalEntry.cookie, at: 0)
        bytes.setBigEndian(kind.rawValue, at: 8)
        bytes.setBigEndian(size, at: 12)
        bytes.setBigEndian(offset, at: 16)
        bytes.setBigEndian(checksum, at: 24)
        bytes.setBytes(padding, at: 28)
        return bytes
    }

    /// Whether the size is one blktap accepts (`vhd_journal_validate_entry`): non-zero, whole
    /// sectors.
    public var hasValidSize: Bool { size != 0 && size % 512 == 0 }

    /// `~(Σ record bytes with checksum 0, padding included + Σ payload bytes)`
    /// (`vhd_journal_checksum_entry`).
    public static func checksum(record: [UInt8], payload: [UInt8]) -> UInt32 {
        var sum: UInt32 = 0
        for byte in record { sum &+= UInt32(byte) }
        for byte in payload { sum &+= UInt32(byte) }
        return ~sum
    }

    /// Whether `payload` matches this record's checksum.
    public func verifies(_ payload: [UInt8]) -> Bool {
        payload.count == Int(size) && JournalEntry.checksum(record: encodedRecord(checksum: 0), payload: payload) == checksum
    }
}
