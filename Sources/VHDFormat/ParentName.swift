/// The header's parent unicode name: UTF-16 big-endian, no BOM, NUL padded to 512 bytes.
public enum ParentName {
    /// Encodes `name`, truncated to the field so that it never overflows.
    public static func encode(_ name: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for unit in name.utf16 {
            if bytes.count + 2 > DynamicHeader.parentNameSize { break }
            bytes.append(UInt8(unit >> 8))
            bytes.append(UInt8(unit & 0xFF))
        }
        return bytes + [UInt8](repeating: 0, count: DynamicHeader.parentNameSize - bytes.count)
    }

    /// Decodes the field up to its first NUL code unit; unpaired surrogates become U+FFFD.
    public static func decode(_ bytes: [UInt8]) -> String {
        var units: [UInt16] = []
        var index = 0
        while index + 1 < bytes.count {
            let unit = UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
            if unit == 0 { break }
            units.append(unit)
            index += 2
        }
        return String(decoding: units, as: UTF16.self)
    }

    /// Whether the whole field is zero.
    public static func isEmpty(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 == 0 } }
}
