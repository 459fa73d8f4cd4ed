import Testing
import VHDFormat

@Suite struct FooterTests {
    @Test func roundTripsEveryField() throws {
        var footer = Footer(
            diskType: .dynamic, currentSize: 100 << 20, uuid: VHDUUID(string: "b81f19f6-4fd3-448e-990c-2818de067ff3")!,
            timestamp: VHDTimestamp(secondsSince2000: 0x3000_0000), dataOffset: 512)
        footer.hidden = 1
        let decoded = try Footer(decoding: footer.encoded())
        #expect(decoded.currentSize == 100 << 20)
        #expect(decoded.uuid.description == "b81f19f6-4fd3-448e-990c-2818de067ff3")
        #expect(decoded.hidden == 1)
        #expect(decoded.isChecksumValid)
        #expect(decoded.encoded() == footer.encoded())
        #expect(decoded.cookieText == "conectix")
        #expect(decoded.isTapCreated)
    }

    @Test func detectsAFlippedByteThroughTheChecksum() throws {
        var bytes = Footer(diskType: .fixed, currentSize: 1 << 20, uuid: .random(), timestamp: .init(secondsSince2000: 1), dataOffset: .max).encoded()
        bytes[50] ^= 0x01
        #expect(try Footer(decoding: bytes).isChecksumValid == false)
    }

    @Test func rejectsShortInput() {
        #expect(throws: VHDFormatError.truncated(structure: "footer", expected: 512, got: 100)) {
            try Footer(decoding: [UInt8](repeating: 0, count: 100))
        }
    }

    @Test(arguments: [
        (UInt64(100 << 20), Geometry(cylinders: 1003, heads: 12, sectorsPerTrack: 17)),
        (UInt64(10 << 20), Geometry(cylinders: 301, heads: 4, sectorsPerTrack: 17)),
        (UInt64(2040) << 30, Geometry(cylinders: 65535, heads: 16, sectorsPerTrack: 255)),
        (UInt64(2) << 40, Geometry(cylinders: 0, heads: 4, sectorsPerTrack: 17)),
    ])
    func computesGeometryAsBlktap(size: UInt64, expected: Geometry) {
        #expect(Geometry.blktap(forSize: size) == expected)
    }
}

@Suite struct DynamicHeaderTests {
    @Test func roundTripsWithParentFields() throws {
        var header = DynamicHeader(tableOffset: 1536, maxTableEntries: 50, blockSize: 2 << 20)
        header.parentName = "x.vhd"
        header.parentUUID = .random()
        header.locators[0] = ParentLocator(platformCodeValue: ParentLocator.PlatformCode.macX.rawValue, dataSpace: 512, dataLength: 14, dataOffset: 3072)
        let decoded = try DynamicHeader(decoding: header.encoded())
        #expect(decoded.parentName == "x.vhd")
        #expect(decoded.isChecksumValid)
        #expect(decoded.usedLocators.count == 1)
        #expect(decoded.bitmapSize == 512)
        #expect(decoded == (try DynamicHeader(decoding: decoded.encoded())))
    }

    @Test func validationNamesTheProblem() throws {
        var header = DynamicHeader(tableOffset: 1536, maxTableEntries: 50, blockSize: 3 << 20)
        header.storedChecksum = header.computedChecksum
        let footer = Footer(diskType: .dynamic, currentSize: 100 << 20, uuid: .random(), timestamp: .init(secondsSince2000: 0), dataOffset: 512)
        let checked = try DynamicHeader(decoding: header.encoded())
        #expect(HeaderValidation.firstProblem(checked, footer: footer, storeSize: 1 << 20) == "invalid block size 3145728")
        let huge = try DynamicHeader(decoding: DynamicHeader(tableOffset: 1536, maxTableEntries: 0x4000_0000, blockSize: 2 << 20).encoded())
        #expect(HeaderValidation.firstProblem(huge, footer: footer, storeSize: 4096)?.contains("extends past the end") == true)
    }
}

@Suite struct HeaderValidationRulesTests {
    let footer = Footer(
        diskType: .dynamic, currentSize: 100 << 20, uuid: .random(), timestamp: .init(secondsSince2000: 0), dataOffset: 512)

    func header(tableOffset: UInt64 = 1536, entries: UInt32 = 50, blockSize: UInt32) throws -> DynamicHeader {
        try DynamicHeader(decoding: DynamicHeader(tableOffset: tableOffset, maxTableEntries: entries, blockSize: blockSize).encoded())
    }

    @Test func theEngineReadsLargerBlocksThanLibvhdAndLibvhdSmallerOnes() throws {
        let large = try header(blockSize: 4 << 20)
        #expect(HeaderValidation.firstProblem(large, footer: footer, storeSize: 1 << 20, rules: .engine) == nil)
        #expect(HeaderValidation.firstProblem(large, footer: footer, storeSize: 1 << 20, rules: .libvhd) == "invalid block size 4194304")
        let tiny = try header(entries: 1 << 18, blockSize: 256)
        #expect(HeaderValidation.firstProblem(tiny, footer: footer, storeSize: 4 << 20, rules: .engine) == "invalid block size 256")
        #expect(HeaderValidation.firstProblem(tiny, footer: footer, storeSize: 4 << 20, rules: .libvhd) == nil)
    }

    @Test func onlyTheEngineChecksWhereTheBATLiesAndThatItCoversTheDisk() throws {
        for bad in [try header(tableOffset: 0, blockSize: 2 << 20), try header(entries: 0x4000_0000, blockSize: 2 << 20),
            try header(entries: 10, blockSize: 2 << 20)]
        {
            #expect(HeaderValidation.firstProblem(bad, footer: footer, storeSize: 1 << 20, rules: .engine) != nil)
            #expect(HeaderValidation.firstProblem(bad, footer: footer, storeSize: 1 << 20, rules: .libvhd) == nil)
        }
    }

    @Test func bothRefuseABadCookieVersionOffsetLocatorOrChecksum() throws {
        var damaged: [DynamicHeader] = []
        var cookie = try header(blockSize: 2 << 20)
        cookie.cookie = Array("cxsparsf".utf8)
        damaged.append(cookie)
        var version = try header(blockSize: 2 << 20)
        version.headerVersion = 0x0002_0000
        damaged.append(version)
        var offset = try header(blockSize: 2 << 20)
        offset.dataOffset = 0
        damaged.append(offset)
        var locator = try header(blockSize: 2 << 20)
        locator.locators[2] = ParentLocator(platformCodeValue: 0x1234, dataSpace: 1, dataLength: 1, dataOffset: 4096)
        damaged.append(locator)
        for var header in damaged {
            header.storedChecksum = header.computedChecksum
            for rules in [HeaderValidation.Rules.engine, .libvhd] {
                #expect(HeaderValidation.firstProblem(header, footer: footer, storeSize: 1 << 20, rules: rules) != nil)
            }
        }
        var checksum = try header(blockSize: 2 << 20)
        checksum.storedChecksum &+= 1
        #expect(HeaderValidation.firstProblem(checksum, footer: footer, storeSize: 1 << 20, rules: .libvhd)?.hasPrefix("invalid checksum") == true)
    }
}

@Suite struct ParentLocatorTests {
    @Test func encodesAsBlktapWrites() {
        #expect(ParentLocator.encodePath("./x.vhd", as: .macX) == Array("file://./x.vhd".utf8))
        let w2ku = ParentLocator.encodePath("../d/p.vhd", as: .w2ku)
        let units = stride(from: 0, to: w2ku.count, by: 2).map { UInt16(w2ku[$0]) | UInt16(w2ku[$0 + 1]) << 8 }
        #expect(String(decoding: units, as: UTF16.self) == ".\\..\\d\\p.vhd")
    }

    @Test func decodesEveryWrittenPlatform() {
        for code in [ParentLocator.PlatformCode.macX, .w2ku, .w2ru] {
            let payload = ParentLocator.encodePath("./base.vhd", as: code)
            let locator = ParentLocator(platformCodeValue: code.rawValue, dataSpace: 512, dataLength: UInt32(payload.count), dataOffset: 0)
            #expect(locator.decodePath(payload) == "./base.vhd")
        }
    }
}

@Suite struct SectorBitmapTests {
    @Test func runsSplitAtBitChanges() {
        var bitmap = SectorBitmap(sectorCount: 4096, byteCount: 512)
        bitmap.setRange(8..<24)
        bitmap.setRange(100..<101)
        let runs = bitmap.runs(in: 0..<200).map { ($0.range, $0.isSet) }
        #expect(runs.map(\.0) == [0..<8, 8..<24, 24..<100, 100..<101, 101..<200])
        #expect(runs.map(\.1) == [false, true, false, true, false])
        #expect(bitmap.setCount == 17)
        #expect(!bitmap.isFull)
        bitmap.setRange(0..<4096)
        #expect(bitmap.isFull)
    }

    @Test func bitOrderIsMostSignificantFirst() {
        var bitmap = SectorBitmap(sectorCount: 16, byteCount: 512)
        bitmap.set(0)
        bitmap.set(9)
        #expect(bitmap.bytes[0] == 0x80 && bitmap.bytes[1] == 0x40)
    }
}

@Suite struct LayoutTests {
    @Test func newImageMatchesBlktapOffsets() {
        let dynamic = Layout.newImage(maxTableEntries: 50, locatorCount: 0)
        #expect(dynamic.batmapHeaderOffset == 2048 && dynamic.batmapMapOffset == 2560 && dynamic.endOfHeaders == 3072)
        let differencing = Layout.newImage(maxTableEntries: 50, locatorCount: 3)
        #expect(differencing.locatorOffsets == [3072, 3584, 4096] && differencing.endOfHeaders == 4608)
    }

    @Test func blocksStartOnPageAlignedData() {
        #expect(Layout.newBlockSector(endOfData: 3072, bitmapSectors: 1) == 7)
        #expect(Layout.newBlockSector(endOfData: 3584 + 512 + (2 << 20), bitmapSectors: 1) == 4111)
    }
}

@Suite struct UnvalidatedInputTests {
    @Test func layoutArithmeticOnAnUnvalidatedHeaderDoesNotTrap() throws {
        var header = DynamicHeader(tableOffset: .max - 100, maxTableEntries: .max, blockSize: 2 << 20)
        header.storedChecksum = header.computedChecksum
        _ = Layout.batmapHeaderOffset(header: header)
    }

    @Test func aShortLocatorEntryDecodesAsPadded() {
        let locator = ParentLocator(decoding: [0x4D, 0x61, 0x63, 0x58])
        #expect(locator.platformCode == .macX && locator.dataOffset == 0)
    }
}
