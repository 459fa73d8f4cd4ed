/// A 24-byte parent locator entry of the dynamic header (VHD spec, "Parent Locator Entries").
public struct ParentLocator: Hashable, Sendable {
    public static let entrySize = 24

    /// The platform codes the spec defines; blktap rejects any other code.
    public enum PlatformCode: UInt32, Sendable, CaseIterable {
        case unused = 0
        case wi2r = 0x5769_3272
        case wi2k = 0x5769_326B
        case w2ru = 0x5732_7275
        case w2ku = 0x5732_6B75
        case mac = 0x4D61_6320
        case macX = 0x4D61_6358

        /// The names blktap's `read -p` prints.
        public var blktapName: String {
            switch self {
            case .unused: return "PLAT_CODE_NONE"
            case .wi2r: return "PLAT_CODE_WI2R"
            case .wi2k: return "PLAT_CODE_WI2K"
            case .w2ru: return "PLAT_CODE_W2RU"
            case .w2ku: return "PLAT_CODE_W2KU"
            case .mac: return "PLAT_CODE_MAC"
            case .macX: return "PLAT_CODE_MACX"
            }
        }
    }

    public var platformCodeValue: UInt32
    /// As stored: sectors per the spec, bytes as blktap and Hyper-V write it.
    public var dataSpace: UInt32
    public var dataLength: UInt32
    public var reserved: UInt32
    /// Absolute byte offset of the locator data.
    public var dataOffset: UInt64

    public static let unused = ParentLocator(platformCodeValue: 0, dataSpace: 0, dataLength: 0, dataOffset: 0)

    public init(platformCodeValue: UInt32, dataSpace: UInt32, dataLength: UInt32, dataOffset: UInt64) {
        self.platformCodeValue = platformCodeValue
        self.dataSpace = dataSpace
        self.dataLength = dataLength
        self.reserved = 0
        self.dataOffset = dataOffset
    }

    /// Decodes an entry; input shorter than 24 bytes reads as if padded with zeros.
    public init(decoding input: [UInt8]) {
        let bytes = input.count >= ParentLocator.entrySize
            ? input : input + [UInt8](repeating: 0, count: ParentLocator.entrySize - input.count)
        platformCodeValue = bytes.bigEndianUInt32(at: 0)
        dataSpace = bytes.bigEndianUInt32(at: 4)
        dataLength = bytes.bigEndianUInt32(at: 8)
        reserved = bytes.bigEndianUInt32(at: 12)
        dataOffset = bytes.bigEndianUInt64(at: 16)
    }

    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: ParentLocator.entrySize)
        bytes.setBigEndian(platformCodeValue, at: 0)
        bytes.setBigEndian(dataSpace, at: 4)
        bytes.setBigEndian(dataLength, at: 8)
        bytes.setBigEndian(reserved, at: 12)
        bytes.setBigEndian(dataOffset, at: 16)
        return bytes
    }

    public var platformCode: PlatformCode? { PlatformCode(rawValue: platformCodeValue) }

    /// The space reserved for the data, in bytes, read as blktap's `vhd_parent_locator_size`
    /// does: below 512 means sectors, a multiple of 512 means bytes, anything else is invalid.
    public var dataSpaceBytes: UInt64? {
        if dataSpace < 512 { return UInt64(dataSpace) * sectorSize }
        if dataSpace % 512 == 0 { return UInt64(dataSpace) }
        return nil
    }

    /// Decodes locator data into a path (`LocatorPath`): MacX is a `file://` URL whose remainder
    /// is the path; W2ku/W2ru are UTF-16LE Windows paths with `\` turned into `/` and a leading
    /// drive `C:` dropped. Nil for other codes or bad data. `characters: .ascii` reads as blktap.
    public func decodePath(_ data: [UInt8], characters: LocatorPath.Characters = .unicode) -> String? {
        let payload = Array(data.prefix(Int(min(UInt64(dataLength), UInt64(data.count)))))
        return LocatorPath.decode(payload, code: platformCode, characters: characters)
    }

    /// The locator payload blktap writes for `relativePath` ("./parent.vhd", "../d/p.vhd").
    public static func encodePath(_ relativePath: String, as code: PlatformCode) -> [UInt8] {
        switch code {
        case .macX:
            return Array(("file://" + relativePath).utf8)
        case .w2ku, .w2ru:
            var windows = relativePath.replacingSlashes()
            if windows.hasPrefix(".\\") == false { windows = ".\\" + windows }
            var bytes: [UInt8] = []
            for unit in windows.utf16 {
                bytes.append(UInt8(unit & 0xFF))
                bytes.append(UInt8(unit >> 8))
            }
            return bytes
        default:
            return []
        }
    }
}

extension String {
    fileprivate func replacingSlashes() -> String {
        String(map { $0 == "/" ? "\\" : $0 })
    }
}
