import Testing

@testable import SM

@Suite struct CRC32Tests {
    @Test func matchesTheStandardCheckValues() {
        #expect(CRC32.checksum("123456789") == 0xCBF4_3926)
        #expect(CRC32.checksum("") == 0)
        #expect(CRC32.checksum("The quick brown fox jumps over the lazy dog") == 0x414F_A339)
    }

    @Test func incrementalEqualsOneShot() {
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var crc = CRC32()
        crc.update(bytes[..<1234])
        crc.update(bytes[1234...])
        #expect(crc.value == CRC32.checksum(bytes))
    }
}
