import SMCommands
import Testing

@Suite struct ByteSizeTests {
    static let examples: [(String, UInt64)] = [
        ("4096", 4096), ("10GiB", 10 << 30), ("512MiB", 512 << 20), ("1TiB", 1 << 40), ("1.5GiB", 3 << 29),
        ("64kib", 64 << 10), ("2M", 2 << 20), ("3 GiB", 3 << 30), ("100B", 100), ("0", 0),
    ]

    @Test(arguments: examples)
    func parsesBytesAndBinaryUnits(text: String, bytes: UInt64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test(arguments: [
        "", "GiB", "ten", "-1", "1.5", "0.1KiB", "10GB", "1e9", "99999999999999999999", "16777216TiB", "1..5G",
    ])
    func refusesAnythingElse(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test func formatsInTheLargestReadableUnit() {
        #expect(ByteSize.format(512) == "512 B")
        #expect(ByteSize.format(10 << 30) == "10 GiB")
        #expect(ByteSize.format(3 << 29) == "1.5 GiB")
        #expect(ByteSize.format((1 << 20) + 1) == "1 MiB")
    }
}
