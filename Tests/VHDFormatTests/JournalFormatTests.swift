import Testing
import VHDFormat

@Suite struct JournalFormatTests {
    @Test func anEntryRoundTripsAndItsChecksumCoversThePayload() throws {
        let payload = (0..<1024).map { UInt8(truncatingIfNeeded: $0) }
        let entry = JournalEntry(kind: .data, offset: 3584, payload: payload)
        let decoded = try #require(JournalEntry(decoding: entry.encoded()))
        #expect(decoded == entry && decoded.padding == [0, 0, 0, 0])
        #expect(decoded.verifies(payload))
        var damaged = payload
        damaged[1000] ^= 1
        #expect(!decoded.verifies(damaged))
    }

    /// blktap leaves the C struct's 4 padding bytes as its stack had them and sums them into
    /// the checksum: the bytes read must be the bytes summed.
    @Test func thePaddingBlktapLeavesIsSummedAsStored() throws {
        let payload = [UInt8](repeating: 0x5A, count: 512)
        var record = JournalEntry(kind: .bat, offset: 1536, payload: payload).encoded()
        record.replaceSubrange(28..<32, with: [0xDE, 0xAD, 0xBE, 0xEF])
        var sum: UInt32 = 0
        for byte in record[0..<24] + record[28..<32] + payload { sum &+= UInt32(byte) }
        let checksum = ~sum
        record.replaceSubrange(24..<28, with: (0..<4).map { UInt8(truncatingIfNeeded: checksum >> (24 - 8 * $0)) })
        let decoded = try #require(JournalEntry(decoding: record))
        #expect(decoded.padding == [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(decoded.verifies(payload))
        #expect(decoded.encoded() == record)
    }

    @Test func sizesMustBeWholeSectorsAndNotZero() throws {
        var entry = JournalEntry(kind: .data, offset: 0, payload: [UInt8](repeating: 0, count: 512))
        #expect(entry.hasValidSize)
        entry.size = 0
        #expect(!entry.hasValidSize)
        entry.size = 700
        #expect(!entry.hasValidSize)
    }

    @Test func theHeaderKeepsTheEndOfJournalInHostOrder() throws {
        let header = JournalHeader(
            uuid: VHDUUID(string: "b81f19f6-4fd3-448e-990c-2818de067ff3")!, footerOffset: 2_101_248, dataEntries: 2,
            metadataEntries: 6, dataOffset: 4288, metadataOffset: 512, journalEOF: 0x0020_1300)
        let bytes = header.encoded()
        #expect(Array(bytes[56..<64]) == [0x00, 0x13, 0x20, 0x00, 0, 0, 0, 0])
        #expect(Array(bytes[24..<32]) == [0, 0, 0, 0, 0x00, 0x20, 0x10, 0x00])
        #expect(JournalHeader(decoding: bytes) == header)
    }
}
