/// RFC 4648 base64, written as Python's `base64.encodebytes` writes it and read leniently only
/// about whitespace.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// `bytes` in base64, in lines of at most 76 characters each ending in `\n`; empty for no bytes.
    static func encodedLines(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count / 3 * 4 + bytes.count / 57 + 8)
        var lineLength = 0
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i]
            let b1 = i + 1 < bytes.count ? bytes[i + 1] : 0
            let b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            output.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            output.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            i += 3
            lineLength += 4
            if lineLength == 76 || i >= bytes.count {
                output.append(UInt8(ascii: "\n"))
                lineLength = 0
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes of base64 `text`, ignoring XML whitespace; nil if anything else is not
    /// base64 or the padding is wrong.
    static func decode(_ text: [UInt8]) -> [UInt8]? {
        var sextets: [UInt8] = []
        sextets.reserveCapacity(text.count)
        var padding = 0
        for byte in text {
            if XMLScanner.isWhitespace(byte) { continue }
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0, let sextet = value(of: byte) else { return nil }
            sextets.append(sextet)
        }
        guard (sextets.count + padding) % 4 == 0, padding <= 2, padding == 0 || sextets.count % 4 == 4 - padding
        else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(sextets.count * 3 / 4)
        var i = 0
        while i < sextets.count {
            let remaining = sextets.count - i
            let s0 = sextets[i]
            let s1 = sextets[i + 1]
            output.append(s0 << 2 | s1 >> 4)
            if remaining >= 3 {
                let s2 = sextets[i + 2]
                output.append((s1 & 0x0F) << 4 | s2 >> 2)
                if remaining >= 4 { output.append((s2 & 0x03) << 6 | sextets[i + 3]) }
            }
            i += 4
        }
        return output
    }

    private static func value(of byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
