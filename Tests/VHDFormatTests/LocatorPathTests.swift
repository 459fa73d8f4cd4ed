import Testing

@testable import VHDFormat

/// The one parent-path decoder, under the engine's rule (any Unicode) and blktap's (ASCII over
/// the whole field), with the inputs a hostile image can hold.
@Suite struct LocatorPathTests {
    static func utf16LE(_ text: String) -> [UInt8] { text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }
    static func utf16BE(_ text: String) -> [UInt8] { text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }

    @Test(arguments: [LocatorPath.Characters.unicode, .ascii])
    func windowsAndURLPathsBecomePOSIXPaths(characters: LocatorPath.Characters) {
        #expect(LocatorPath.decode(Self.utf16LE(".\\base.vhd"), code: .w2ku, characters: characters) == "./base.vhd")
        #expect(LocatorPath.decode(Self.utf16LE("C:\\sr\\p.vhd\0junk"), code: .w2ru, characters: characters) == "/sr/p.vhd")
        #expect(LocatorPath.decode(Array("file://./base.vhd\0\0".utf8), code: .macX, characters: characters) == "./base.vhd")
        #expect(LocatorPath.decodeUTF16(Self.utf16BE("c:\\x.vhd"), bigEndian: true, characters: characters) == "/x.vhd")
        #expect(LocatorPath.decode(Array("./base.vhd".utf8), code: .macX, characters: characters) == nil, "no scheme")
        #expect(LocatorPath.decode(Self.utf16LE("x"), code: .wi2r, characters: characters) == nil, "not a path code")
        #expect(LocatorPath.decode(Self.utf16LE("x"), code: nil, characters: characters) == nil)
        #expect(LocatorPath.decode([], code: .w2ku, characters: characters) == "")
        #expect(LocatorPath.decode([], code: .macX, characters: characters) == nil)
    }

    @Test func blktapRefusesAWholeFieldTheEngineReads() {
        let accented = Self.utf16LE("./bàse.vhd")
        #expect(LocatorPath.decode(accented, code: .w2ku, characters: .unicode) == "./bàse.vhd")
        #expect(LocatorPath.decode(accented, code: .w2ku, characters: .ascii) == nil)
        // Past the NUL still counts for iconv.
        let tail = Self.utf16LE("./a.vhd\0é")
        #expect(LocatorPath.decode(tail, code: .w2ku, characters: .unicode) == "./a.vhd")
        #expect(LocatorPath.decode(tail, code: .w2ku, characters: .ascii) == nil)
        // An odd byte count: the engine ignores the last byte, blktap refuses.
        let odd = Self.utf16LE("./a.vhd") + [0x41]
        #expect(LocatorPath.decode(odd, code: .w2ku, characters: .unicode) == "./a.vhd")
        #expect(LocatorPath.decode(odd, code: .w2ku, characters: .ascii) == nil)
        let url = Array("file:///sr/é.vhd".utf8)
        #expect(LocatorPath.decode(url, code: .macX, characters: .unicode) == "/sr/é.vhd")
        #expect(LocatorPath.decode(url, code: .macX, characters: .ascii) == nil)
    }

    @Test func hostileBytesNeverTrapAndUnpairedSurrogatesAreReplaced() {
        #expect(LocatorPath.decode([0x00, 0xD8, 0x41, 0x00], code: .w2ku, characters: .unicode) == "\u{FFFD}A")
        #expect(LocatorPath.decode([0x00, 0xD8], code: .w2ku, characters: .ascii) == nil)
        #expect(LocatorPath.decode([0xFF, 0xFE, 0xC3], code: .macX, characters: .unicode) == nil)
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 2, 3, 7, 64, 511, 4096] {
            for _ in 0..<50 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                for code in ParentLocator.PlatformCode.allCases {
                    for characters in [LocatorPath.Characters.unicode, .ascii] {
                        if let path = LocatorPath.decode(bytes, code: code, characters: characters), characters == .ascii {
                            #expect(path.utf8.allSatisfy { $0 < 0x80 })
                        }
                    }
                }
            }
        }
    }

    @Test func aLocatorDecodesOnlyItsDataLength() {
        var locator = ParentLocator(
            platformCodeValue: ParentLocator.PlatformCode.w2ku.rawValue, dataSpace: 1, dataLength: 10, dataOffset: 1536)
        let data = Self.utf16LE(".\\a.vhd") + Self.utf16LE("zzzz")
        #expect(locator.decodePath(data) == "./a.v")
        locator.dataLength = 1 << 20
        #expect(locator.decodePath(data) == "./a.vhdzzzz")
    }
}
