/// The 1024-byte dynamic disk header (VHD spec, "Dynamic Disk Header Format"; blktap
/// `struct dd_hdr`), at the footer's data offset in dynamic and differencing disks.
public struct DynamicHeader: Hashable, Sendable {
    public static let size = 1024
    public static let cookie = "cxsparse"
    public static let headerVersion: UInt32 = 0x0001_0000
    public static let locatorCount = 8
    public static let parentNameSize = 512
    /// blktap's default block size, and the largest it accepts.
    public static let defaultBlockSize: UInt32 = 2 << 20

    public var cookie: [UInt8]
    /// Unused; must be all ones.
    public var dataOffset: UInt64
    /// Absolute byte offset of the BAT.
    public var tableOffset: UInt64
    public var headerVersion: UInt32
    public var maxTableEntries: UInt32
    /// Bytes per block (a power of two, sector bitmap not included).
    public var blockSize: UInt32
    public var storedChecksum: UInt32
    public var parentUUID: VHDUUID
    /// The parent's modification time.
    public var parentTimestamp: VHDTimestamp
    public var reserved1: UInt32
    /// The parent's name as stored: 512 bytes of UTF-16BE, NUL padded.
    public var parentNameBytes: [UInt8]
    public var locators: [ParentLocator]
    /// Bytes 768..<1024: must be zero.
    public var reserved2: [UInt8]

    /// A header for a new dynamic or differencing disk, without parent fields.
    public init(tableOffset: UInt64, maxTableEntries: UInt32, blockSize: UInt32) {
        cookie = Array(DynamicHeader.cookie.utf8)
        dataOffset = .max
        self.tableOffset = tableOffset
        headerVersion = DynamicHeader.headerVersion
        self.maxTableEntries = maxTableEntries
        self.blockSize = blockSize
        storedChecksum = 0
        parentUUID = .null
        parentTimestamp = VHDTimestamp(secondsSince2000: 0)
        reserved1 = 0
        parentNameBytes = [UInt8](repeating: 0, count: DynamicHeader.parentNameSize)
        locators = Array(repeating: ParentLocator.unused, count: DynamicHeader.locatorCount)
        reserved2 = [UInt8](repeating: 0, count: 256)
        storedChecksum = computedChecksum
    }

    public init(decoding bytes: [UInt8]) throws(VHDFormatError) {
        guard bytes.count == DynamicHeader.size else {
            throw .truncated(structure: "dynamic header", expected: DynamicHeader.size, got: bytes.count)
        }
        cookie = bytes.bytes(at: 0, count: 8)
        dataOffset = bytes.bigEndianUInt64(at: 8)
        tableOffset = bytes.bigEndianUInt64(at: 16)
        headerVersion = bytes.bigEndianUInt32(at: 24)
        maxTableEntries = bytes.bigEndianUInt32(at: 28)
        blockSize = bytes.bigEndianUInt32(at: 32)
        storedChecksum = bytes.bigEndianUInt32(at: 36)
        parentUUID = VHDUUID(bytes: bytes.bytes(at: 40, count: 16))
        parentTimestamp = VHDTimestamp(secondsSince2000: bytes.bigEndianUInt32(at: 56))
        reserved1 = bytes.bigEndianUInt32(at: 60)
        parentNameBytes = bytes.bytes(at: 64, count: DynamicHeader.parentNameSize)
        locators = (0..<DynamicHeader.locatorCount).map { index in
            ParentLocator(decoding: bytes.bytes(at: 576 + index * ParentLocator.entrySize, count: ParentLocator.entrySize))
        }
        reserved2 = bytes.bytes(at: 768, count: 256)
    }

    /// The 1024 bytes of this header, with a freshly computed checksum.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: DynamicHeader.size)
        bytes.setBytes(cookie, at: 0)
        bytes.setBigEndian(dataOffset, at: 8)
        bytes.setBigEndian(tableOffset, at: 16)
        bytes.setBigEndian(headerVersion, at: 24)
        bytes.setBigEndian(maxTableEntries, at: 28)
        bytes.setBigEndian(blockSize, at: 32)
        bytes.setBytes(parentUUID.bytes, at: 40)
        bytes.setBigEndian(parentTimestamp.secondsSince2000, at: 56)
        bytes.setBigEndian(reserved1, at: 60)
        bytes.setBytes(parentNameBytes, at: 64)
        for (index, locator) in locators.enumerated() {
            bytes.setBytes(locator.encoded(), at: 576 + index * ParentLocator.entrySize)
        }
        bytes.setBytes(reserved2, at: 768)
        bytes.setBigEndian(Checksum.compute(bytes, skippingFieldAt: 36), at: 36)
        return bytes
    }

    public var computedChecksum: UInt32 { Checksum.compute(encoded(), skippingFieldAt: 36) }
    public var isChecksumValid: Bool { storedChecksum == computedChecksum }
    public var hasValidCookie: Bool { cookie == Array(DynamicHeader.cookie.utf8) }
    public var cookieText: String { String(decoding: cookie.prefix { $0 != 0 }, as: UTF8.self) }

    /// Sectors per block.
    public var sectorsPerBlock: UInt64 { UInt64(blockSize) / sectorSize }
    /// Bytes of the sector bitmap in front of each block: one bit a sector, padded to a sector.
    public var bitmapSize: UInt64 { roundUp(divideRoundingUp(sectorsPerBlock, 8), to: sectorSize) }

    /// The parent's name, decoded from UTF-16BE.
    public var parentName: String {
        get { ParentName.decode(parentNameBytes) }
        set { parentNameBytes = ParentName.encode(newValue) }
    }

    /// The locators in use (platform code not `none`), with their slot numbers.
    public var usedLocators: [(slot: Int, locator: ParentLocator)] {
        locators.enumerated().filter { $0.element.platformCodeValue != 0 }.map { ($0.offset, $0.element) }
    }
}
