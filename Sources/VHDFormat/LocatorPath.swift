/// The one decoder of the paths a VHD names its parent by: parent locator payloads (MacX
/// `file://` URLs, W2ku/W2ru UTF-16LE Windows paths) and the header's UTF-16BE parent name as
/// blktap reads it. Pure format code: bytes in, a path or nil out.
///
/// Two character rules: the engine takes any Unicode a locator holds; blktap (`vhd-util`,
/// `check`) converts with `iconv(…, "ASCII")`, so a field with any unit above 0x7F, or an odd
/// byte count of UTF-16, does not decode at all (`Characters.ascii`). Either way the text ends
/// at the first NUL, `\` becomes `/` in Windows paths, and a leading `C:` is dropped.
public enum LocatorPath {
    public enum Characters: Sendable, Equatable {
        /// Any Unicode; an unpaired surrogate becomes U+FFFD, a trailing odd byte is ignored.
        case unicode
        /// ASCII only, over the whole field, as blktap's iconv conversion.
        case ascii
    }

    /// The path in a locator's payload (already cut to its data length); nil for other
    /// platform codes and for payloads that do not decode.
    public static func decode(_ payload: [UInt8], code: ParentLocator.PlatformCode?, characters: Characters) -> String? {
        switch code {
        case .macX: return decodeURL(payload, characters: characters)
        case .w2ku, .w2ru: return decodeUTF16(payload, bigEndian: false, characters: characters)
        default: return nil
        }
    }

    /// A MacX payload: a `file://` URL up to the first NUL; the path is what follows the scheme.
    public static func decodeURL(_ payload: [UInt8], characters: Characters) -> String? {
        if characters == .ascii && !payload.allSatisfy({ $0 < 0x80 }) { return nil }
        let text = String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self)
        guard text.hasPrefix("file://") else { return nil }
        return String(text.dropFirst(7))
    }

    /// A UTF-16 Windows path (little-endian in locators, big-endian in the header's parent
    /// name), as a POSIX path: up to the first NUL unit, `\` → `/`, a leading `C:`/`c:` dropped.
    public static func decodeUTF16(_ bytes: [UInt8], bigEndian: Bool, characters: Characters) -> String? {
        if characters == .ascii && bytes.count % 2 != 0 { return nil }
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var index = 0
        while index + 1 < bytes.count {
            let (high, low) = bigEndian ? (bytes[index], bytes[index + 1]) : (bytes[index + 1], bytes[index])
            units.append(UInt16(high) << 8 | UInt16(low))
            index += 2
        }
        if characters == .ascii && units.contains(where: { $0 >= 0x80 }) { return nil }
        let text = units.prefix { $0 != 0 }.map { $0 == UInt16(UInt8(ascii: "\\")) ? UInt16(UInt8(ascii: "/")) : $0 }
        var path = String(decoding: text, as: UTF16.self)
        if path.hasPrefix("C:") || path.hasPrefix("c:") { path.removeFirst(2) }
        return path
    }
}
