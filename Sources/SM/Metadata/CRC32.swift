/// CRC-32 as zlib, PNG and Ethernet compute it (IEEE 802.3: reflected polynomial 0xEDB88320,
/// initial value and final XOR 0xFFFFFFFF); `CRC32.checksum("123456789")` is 0xCBF43926.
///
/// The SM core stamps each record it writes (intents, SR metadata) with it, so a torn or
/// bit-rotted record is detected instead of trusted. Hand-written to keep the core free of
/// package dependencies; it guards against accidents, not adversaries.
struct CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
        }
        return value
    }

    private var state: UInt32 = 0xFFFF_FFFF

    init() {}

    /// Feeds `bytes` into the checksum.
    mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        var crc = state
        Self.table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        state = crc
    }

    /// The checksum of everything fed so far.
    var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// The checksum of `bytes`.
    static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// The checksum of a string's UTF-8 bytes.
    static func checksum(_ text: String) -> UInt32 {
        checksum(text.utf8)
    }
}
