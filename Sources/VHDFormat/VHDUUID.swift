/// A 16-byte VHD identifier, stored raw and printed in RFC 4122 order (as blktap and libvhdi do).
public struct VHDUUID: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]

    /// The all-zero UUID: "no parent" in a header, "invalid" in a footer.
    public static let null = VHDUUID(bytes: [UInt8](repeating: 0, count: 16))

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "a VHD UUID is 16 bytes")
        self.bytes = bytes
    }

    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (case-insensitive); nil when malformed.
    public init?(string: String) {
        let hex = string.filter { $0 != "-" }
        guard string.count == 36, hex.count == 32 else { return nil }
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            result.append(byte)
            index = next
        }
        self.bytes = result
    }

    /// A random version-4 UUID from `generator`.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> VHDUUID {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return VHDUUID(bytes: bytes)
    }

    /// A random version-4 UUID from the system generator.
    public static func random() -> VHDUUID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public var isNull: Bool { bytes.allSatisfy { $0 == 0 } }

    public var description: String {
        let hex = bytes.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }
        return hex[0..<4].joined() + "-" + hex[4..<6].joined() + "-" + hex[6..<8].joined() + "-"
            + hex[8..<10].joined() + "-" + hex[10..<16].joined()
    }
}
