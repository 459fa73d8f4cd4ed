import Foundation
import Testing
import VHD
import VHDFormat
import VHDUtilCommands

@Suite struct ReadTests {
    /// VHD.md's verbatim `read -p` of a differencing child of a 100 MiB `x.vhd`, observed with
    /// blktap. Same UUIDs and timestamps give the same checksums, so this pins every byte.
    static let observedChildDump = """
        VHD Footer Summary:
        -------------------
        Cookie              : conectix
        Features            : (0x00000002) <RESV>
        File format version : Major: 1, Minor: 0
        Data offset         : 512
        Timestamp           : Sat Nov 21 15:48:04 2026
        Creator Application : 'tap'
        Creator version     : Major: 1, Minor: 3
        Creator OS          : Unknown!
        Original disk size  : 100 MB (104857600 Bytes)
        Current disk size   : 100 MB (104857600 Bytes)
        Geometry            : Cyl: 1003, Hds: 12, Sctrs: 17
                            : = 99 MB (104761344 Bytes)
        Disk type           : Differencing hard disk
        Checksum            : 0xfffff0b1|0xfffff0b1 (Good!)
        UUID                : b81f19f6-4fd3-448e-990c-2818de067ff3
        Saved state         : No
        Hidden              : 0

        VHD Header Summary:
        -------------------
        Cookie              : cxsparse
        Data offset (unusd) : 18446744073709551615
        Table offset        : 1536
        Header version      : 0x00010000
        Max BAT size        : 50
        Block size          : 2097152 (2 MB)
        Parent name         : x.vhd
        Parent UUID         : 9066fab9-8063-4c0c-ad47-7c022c3084c0
        Parent timestamp    : Sat Nov 21 15:48:04 2026
        Checksum            : 0xffffe4d8|0xffffe4d8 (Good!)

        VHD Parent Locators:
        --------------------
        locator:            : 0
               code         : PLAT_CODE_MACX
               data_space   : 512
               data_length  : 14
               data_offset  : 3072
               decoded name : ./x.vhd

        """

    @Test func headersOfADifferencingDiskMatchBlktapsObservedOutput() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 100)
        try workspace.child("c.vhd", of: "x.vhd", megabytes: 100)
        let run = vhdUtil("read", "-p", "-n", workspace.path("c.vhd"))
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix(Self.observedChildDump))
        #expect(
            run.stdout.hasSuffix(
                """
                VHD Batmap Summary:
                -------------------
                Batmap offset       : 2560
                Batmap size (secs)  : 1
                Batmap version      : 0x00010002
                Checksum            : 0xffffffff|0xffffffff (Good!)


                """))
    }
}

@Suite struct ReadActionTests {
    /// A 10 MiB dynamic disk with sectors 4–11 written (block 0, partial) and block 2 full:
    /// block 0's bitmap lands at sector 7 (byte 3584), block 2's at sector 4111.
    static func image() throws -> (Workspace, String) {
        let workspace = try Workspace()
        let image = try workspace.create("d.vhd", megabytes: 10)
        try workspace.write(image, byte: 0xAA, count: 8 * 512, at: 4 * 512)
        try workspace.write(image, byte: 0xBB, count: 2 << 20, at: 4 << 20)
        return (workspace, workspace.path("d.vhd"))
    }

    @Test func translatesLogicalSectorsAssumingAOneSectorBitmap() throws {
        let (workspace, path) = try Self.image()
        defer { withExtendedLifetime(workspace) {} }
        let run = vhdUtil("read", "-n", path, "-t", "4", "-c", "2")
        #expect(run.status == 0)
        #expect(
            run.stdout == """
                logical sector 4: block number: 0, sector offset: 4, file offset: 6144
                logical sector 5: block number: 0, sector offset: 5, file offset: 6656

                """)
        let unallocated = vhdUtil("read", "-n", path, "-t", "4096")
        #expect(
            unallocated.stdout == "logical sector 4096: block number: 1, sector offset: 0, file offset: not allocated\n"
        )
    }

    @Test func printsBATEntriesInDecimalOrHex() throws {
        let (workspace, path) = try Self.image()
        defer { withExtendedLifetime(workspace) {} }
        #expect(
            vhdUtil("read", "-n", path, "-b", "0", "-c", "3").stdout == """
                block: 0: offset: 3584
                block: 1: offset: not allocated
                block: 2: offset: 2104832

                """)
        #expect(vhdUtil("read", "-x", "-n", path, "-b", "0", "-c", "1").stdout == "block: 0: offset: 0xe00\n")
    }

    @Test func rangeErrorsGoWhereBlktapSendsThem() throws {
        let (workspace, path) = try Self.image()
        defer { withExtendedLifetime(workspace) {} }
        let block = vhdUtil("read", "-n", path, "-b", "4", "-c", "2")
        #expect(block.status == 34)
        #expect(block.stderr == "block 6 past end of file\n")
        #expect(block.stdout.isEmpty)
        let sector = vhdUtil("read", "-n", path, "-t", "20479", "-c", "2")
        #expect(sector.status == 34)
        #expect(sector.stderr == "sector 20481 past end of file\n")
        let bit = vhdUtil("read", "-n", path, "-i", "20480")
        #expect(bit.status == 34)
        #expect(bit.stdout == "sector 20480 past end of file\n")
        #expect(vhdUtil("read", "-n", path, "-r", "20480").status == 34)
    }

    @Test func testsBitmapBitsAndListsExtents() throws {
        let (workspace, path) = try Self.image()
        defer { withExtendedLifetime(workspace) {} }
        #expect(
            vhdUtil("read", "-n", path, "-i", "3", "-c", "3").stdout == """
                block 0: sec: 3: 0
                block 0: sec: 4: 1
                block 0: sec: 5: 1

                """)
        #expect(vhdUtil("read", "-n", path, "-e", "0", "-c", "12288").stdout == "4 8\n8192 4096\n")
        #expect(vhdUtil("read", "-x", "-n", path, "-e", "0", "-c", "12288").stdout == "0x4 0x8\n0x2000 0x1000\n")
    }

    @Test func rawOutputsAreTheBitmapsBatmapAndData() throws {
        let (workspace, path) = try Self.image()
        defer { withExtendedLifetime(workspace) {} }
        #expect(vhdUtil("read", "-n", path, "-B").stdoutBytes == [0xA0])
        let bitmap = vhdUtil("read", "-n", path, "-m", "0").stdoutBytes
        #expect(bitmap.count == 512)
        #expect(Array(bitmap.prefix(3)) == [0x0F, 0xF0, 0x00])
        #expect(vhdUtil("read", "-n", path, "-m", "1").stdout == "block 1 not allocated\n")
        let batmap = vhdUtil("read", "-n", path, "-a").stdoutBytes
        #expect(batmap.count == 512 && batmap[0] == 0x20)
        let tested = vhdUtil("read", "-n", path, "-j", "0", "-c", "3")
        #expect(tested.stderr == "batmap for block 0: 0\nbatmap for block 1: 0\nbatmap for block 2: 1\n")
        let data = vhdUtil("read", "-n", path, "-d", "2").stdoutBytes
        #expect(data == [UInt8](repeating: 0xBB, count: 2 << 20))
        #expect(vhdUtil("read", "-n", path, "-d", "1").stdout == "block 1 not allocated\n")
    }

    @Test func readsSectorsAndBytesThroughTheChain() throws {
        let (workspace, _) = try Self.image()
        let child = try workspace.child("c.vhd", of: "d.vhd", megabytes: 10)
        try workspace.write(child, byte: 0xCC, count: 512, at: 5 * 512)
        let path = workspace.path("c.vhd")
        let sectors = vhdUtil("read", "-n", path, "-r", "3", "-c", "4").stdoutBytes
        #expect(sectors.count == 2048)
        #expect(sectors[0..<512].allSatisfy { $0 == 0 })
        #expect(sectors[512..<1024].allSatisfy { $0 == 0xAA })
        #expect(sectors[1024..<1536].allSatisfy { $0 == 0xCC })
        #expect(sectors[1536..<2048].allSatisfy { $0 == 0xAA })
        #expect(vhdUtil("read", "-n", path, "-R", "2559", "-c", "2").stdoutBytes == [0xAA, 0xCC])
    }

    @Test func hexHeadersUseAlternateFormWithZeroAsPlainZero() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 100)
        let run = vhdUtil("read", "-p", "-x", "-n", workspace.path("x.vhd"))
        for line in [
            "Data offset         : 0x200", "Data offset (unusd) : 0xffffffffffffffff", "Table offset        : 0x600",
            "Max BAT size        : 0x32", "Block size          : 0x200000 (0x2 MB)",
            "Geometry            : Cyl: 0x3eb, Hds: 0xc, Sctrs: 0x11",
            "                    : = 0x63 MB (0x63e8800 Bytes)",
            "Batmap offset       : 0xa00", "Batmap size (secs)  : 0x1", "Parent name         : ",
            "Parent timestamp    : Sat Jan  1 00:00:00 2000",
        ] {
            #expect(run.stdout.contains(line + "\n"), "\(line)")
        }
        #expect(!run.stdout.contains("VHD Parent Locators"))
    }

    @Test func fixedDisksHaveNoBATToRead() throws {
        let workspace = try Workspace()
        try workspace.create("f.vhd", megabytes: 4, type: .fixed)
        let run = vhdUtil("read", "-p", "-n", workspace.path("f.vhd"))
        #expect(run.status == 22)
        #expect(run.stdout == "Failed to get bat for \(workspace.path("f.vhd")): -22\n")
    }

    @Test func unopenableFileGetsTheRawHeaderDump() throws {
        let workspace = try Workspace()
        _ = FileManager.default.createFile(atPath: workspace.path("junk"), contents: Data(count: 4096))
        let path = workspace.path("junk")
        let run = vhdUtil("read", "-p", "-n", path)
        #expect(run.status == 22)
        #expect(
            run.stdout.hasPrefix(
                """
                Failed to open \(path): -22

                \(path) appears invalid; dumping headers

                VHD Footer Summary:
                -------------------
                Cookie              : 
                Features            : (0x00000000) 
                File format version : Major: 0, Minor: 0
                Data offset         : 0
                Timestamp           : Sat Jan  1 00:00:00 2000
                Creator Application : ''
                """))
        #expect(run.stdout.contains("Disk type           : None\nChecksum            : 0x0|0xffffffff (Bad!)\n"))
        #expect(
            run.stdout.hasSuffix(
                """
                Parent name         : 
                Parent UUID         : 00000000-0000-0000-0000-000000000000
                Parent timestamp    : Sat Jan  1 00:00:00 2000
                Checksum            : 0x0|0xffffffff (Bad!)


                """))
    }

    @Test func headersAsJSON() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 100)
        try workspace.child("c.vhd", of: "x.vhd", megabytes: 100)
        let run = vhdUtil("read", "-p", "--json", "-n", workspace.path("c.vhd"))
        #expect(run.status == 0)
        let object = try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let footer = try #require(object["footer"] as? [String: Any])
        #expect(footer["uuid"] as? String == "b81f19f6-4fd3-448e-990c-2818de067ff3")
        #expect(footer["checksum_valid"] as? Bool == true)
        let locators = try #require(object["parent_locators"] as? [[String: Any]])
        #expect(locators.map { $0["decoded_name"] as? String } == ["./x.vhd", "./x.vhd", "./x.vhd"])
    }
}
