/// The 512-byte hard disk footer (VHD spec, "Hard Disk Footer Format"; blktap `struct hd_ftr`),
/// found at the end of every image and, for dynamic and differencing disks, copied at offset 0.
///
/// Decoding never fails on content: it yields the fields as stored, and `problems(now:)` says
/// what is wrong with them in blktap's words.
public struct Footer: Hashable, Sendable {
    public static let size = 512
    public static let cookie = "conectix"
    /// blktap's cookie for a disk disabled while a journaled operation runs.
    public static let poisonCookie = "v_poison"
    public static let blktapCreator: [UInt8] = Array("tap".utf8) + [0]
    /// blktap's `VHD_CURRENT_VERSION`, 1.3.
    public static let blktapCreatorVersion: UInt32 = 0x0001_0003
    public static let fileFormatVersion: UInt32 = 0x0001_0000
    public static let reservedFeature: UInt32 = 0x0000_0002
    public static let temporaryFeature: UInt32 = 0x0000_0001
    /// The data offset fixed disks carry (the spec says 0xFFFFFFFF; tools write 64 ones).
    public static let noDataOffset: UInt64 = .max

    public var cookie: [UInt8]
    public var features: UInt32
    public var fileFormatVersion: UInt32
    public var dataOffset: UInt64
    public var timestamp: VHDTimestamp
    public var creatorApplication: [UInt8]
    public var creatorVersion: UInt32
    public var creatorHostOS: UInt32
    public var originalSize: UInt64
    public var currentSize: UInt64
    public var geometry: Geometry
    public var diskTypeValue: UInt32
    /// The checksum as stored; `encoded()` always writes a fresh one.
    public var storedChecksum: UInt32
    public var uuid: VHDUUID
    public var savedState: UInt8
    /// blktap's hidden flag, footer byte 85, inside the spec's reserved area.
    public var hidden: UInt8
    /// Bytes 86..<512: must be zero.
    public var reserved: [UInt8]

    /// A blktap-style footer for a new image.
    public init(
        diskType: DiskType, currentSize: UInt64, uuid: VHDUUID, timestamp: VHDTimestamp,
        dataOffset: UInt64
    ) {
        cookie = Array(Footer.cookie.utf8)
        features = Footer.reservedFeature
        fileFormatVersion = Footer.fileFormatVersion
        self.dataOffset = dataOffset
        self.timestamp = timestamp
        creatorApplication = Footer.blktapCreator
        creatorVersion = Footer.blktapCreatorVersion
        creatorHostOS = 0
        originalSize = currentSize
        self.currentSize = currentSize
        geometry = Geometry.blktap(forSize: currentSize)
        diskTypeValue = diskType.rawValue
        storedChecksum = 0
        self.uuid = uuid
        savedState = 0
        hidden = 0
        reserved = [UInt8](repeating: 0, count: 426)
        storedChecksum = computedChecksum
    }

    /// Decodes 512 bytes (or blktap's 511-byte "short" footer, read as if a zero followed).
    public init(decoding input: [UInt8]) throws(VHDFormatError) {
        guard input.count == Footer.size || input.count == Footer.size - 1 else {
            throw .truncated(structure: "footer", expected: Footer.size, got: input.count)
        }
        let bytes = input.count == Footer.size ? input : input + [0]
        cookie = bytes.bytes(at: 0, count: 8)
        features = bytes.bigEndianUInt32(at: 8)
        fileFormatVersion = bytes.bigEndianUInt32(at: 12)
        dataOffset = bytes.bigEndianUInt64(at: 16)
        timestamp = VHDTimestamp(secondsSince2000: bytes.bigEndianUInt32(at: 24))
        creatorApplication = bytes.bytes(at: 28, count: 4)
        creatorVersion = bytes.bigEndianUInt32(at: 32)
        creatorHostOS = bytes.bigEndianUInt32(at: 36)
        originalSize = bytes.bigEndianUInt64(at: 40)
        currentSize = bytes.bigEndianUInt64(at: 48)
        geometry = Geometry(packed: bytes.bigEndianUInt32(at: 56))
        diskTypeValue = bytes.bigEndianUInt32(at: 60)
        storedChecksum = bytes.bigEndianUInt32(at: 64)
        uuid = VHDUUID(bytes: bytes.bytes(at: 68, count: 16))
        savedState = bytes[84]
        hidden = bytes[85]
        reserved = bytes.bytes(at: 86, count: 426)
    }

    /// The 512 bytes of this footer, with a freshly computed checksum.
    public func encoded() -> [UInt8] {
        var bytes = fieldBytes(checksum: 0)
        bytes.setBigEndian(Checksum.compute(bytes, skippingFieldAt: nil), at: 64)
        return bytes
    }

    private func fieldBytes(checksum: UInt32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Footer.size)
        bytes.setBytes(cookie, at: 0)
        bytes.setBigEndian(features, at: 8)
        bytes.setBigEndian(fileFormatVersion, at: 12)
        bytes.setBigEndian(dataOffset, at: 16)
        bytes.setBigEndian(timestamp.secondsSince2000, at: 24)
        bytes.setBytes(creatorApplication, at: 28)
        bytes.setBigEndian(creatorVersion, at: 32)
        bytes.setBigEndian(creatorHostOS, at: 36)
        bytes.setBigEndian(originalSize, at: 40)
        bytes.setBigEndian(currentSize, at: 48)
        bytes.setBigEndian(geometry.packed, at: 56)
        bytes.setBigEndian(diskTypeValue, at: 60)
        bytes.setBigEndian(checksum, at: 64)
        bytes.setBytes(uuid.bytes, at: 68)
        bytes[84] = savedState
        bytes[85] = hidden
        bytes.setBytes(reserved, at: 86)
        return bytes
    }

    /// The checksum over all 512 bytes, the one every writer should store.
    public var computedChecksum: UInt32 { Checksum.compute(fieldBytes(checksum: 0), skippingFieldAt: nil) }

    /// Whether the stored checksum is right. As blktap's `vhd_validate_footer`, a hidden tap 0.1
    /// or 1.1 image may also carry the checksum computed with hidden = 0 ("early td-util did
    /// not re-calculate checksum when marking vhds 'hidden'").
    public var isChecksumValid: Bool {
        if storedChecksum == computedChecksum { return true }
        guard hidden != 0, isTapCreated, creatorVersion == 0x0000_0001 || creatorVersion == 0x0001_0001 else {
            return false
        }
        var bytes = fieldBytes(checksum: 0)
        bytes[85] = 0
        return storedChecksum == Checksum.compute(bytes, skippingFieldAt: nil)
    }

    public var cookieText: String { String(decoding: cookie.prefix { $0 != 0 }, as: UTF8.self) }
    public var hasValidCookie: Bool { cookie == Array(Footer.cookie.utf8) }
    public var isPoisoned: Bool { cookie == Array(Footer.poisonCookie.utf8) }
    public var diskType: DiskType? { DiskType(rawValue: diskTypeValue) }
    public var isHidden: Bool { hidden != 0 }
    /// Whether blktap made this image (creator "tap"), which switches on its batmap and quirks.
    public var isTapCreated: Bool { creatorApplication.starts(with: Array("tap".utf8)) }
    /// The creator application as text, NULs dropped ("tap", "qemu", "win ").
    public var creatorApplicationText: String {
        String(decoding: creatorApplication.prefix { $0 != 0 }, as: UTF8.self)
    }
}
