/// The characters XML 1.0 allows, and the escaping Python's `xmlrpc.client` applies.
///
/// XML 1.0 §2.2: `Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`.
/// SM refuses VDI labels holding anything else with `IllegalXMLChar` (447), because the LVM
/// driver keeps them in an XML metadata volume (`util.isLegalXMLString`).
public enum XMLCharacter {
    /// Whether XML 1.0 allows `scalar` anywhere in a document.
    public static func isLegal(_ scalar: Unicode.Scalar) -> Bool {
        isLegal(codePoint: scalar.value)
    }

    /// Whether every character of `text` is allowed by XML 1.0.
    public static func isLegal(_ text: String) -> Bool {
        firstIllegalScalar(in: text) == nil
    }

    /// The first character of `text` that XML 1.0 forbids, if any.
    public static func firstIllegalScalar(in text: String) -> Unicode.Scalar? {
        text.unicodeScalars.first { !isLegal($0) }
    }

    /// Whether XML 1.0 allows code point `value`.
    static func isLegal(codePoint value: UInt32) -> Bool {
        switch value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }

    /// `text` with `&`, `<` and `>` replaced by entity references, and nothing else changed:
    /// exactly Python's `xmlrpc.client.escape`, so encoded documents match SM's byte for byte.
    public static func escaped(_ text: String) -> String {
        guard
            text.utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") })
        else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
