import BlockIO
import Foundation
import Testing
import VHD
import VHDFormat
import VHDUtilCommands

@Suite struct CheckTests {
    /// What a failing check prints after its problem lines: the banner and `read -p`.
    static func dump(_ path: String) -> String {
        "\(path) appears invalid; dumping metadata\n" + vhdUtil("read", "-p", "-n", path).stdout
    }

    @Test func validDynamicDiskIsAnnounced() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        let run = vhdUtil("check", "-n", workspace.path("x.vhd"))
        #expect(run.status == 0)
        #expect(run.stdout == "\(workspace.path("x.vhd")) is valid\n")
    }

    @Test func validFixedDiskPrintsNothing() throws {
        let workspace = try Workspace()
        try workspace.create("f.vhd", megabytes: 4, type: .fixed)
        let run = vhdUtil("check", "-n", workspace.path("f.vhd"))
        #expect(run.status == 0)
        #expect(run.stdout.isEmpty)
    }

    @Test func missingFileAndDirectoryFailWithoutADump() throws {
        let workspace = try Workspace()
        let missing = workspace.path("missing.vhd")
        let run = vhdUtil("check", "-n", missing)
        #expect(run.stdout == "cannot stat \(missing): 2\n")
        #expect(run.status == 2)
        let directory = vhdUtil("check", "-n", workspace.path)
        #expect(directory.stdout == "\(workspace.path) is not a regular file or block device\n")
        #expect(directory.status == 22)
    }

    /// Finding 8's disk: 1 MiB written, then the size cut to 0 under it. `check` rejects it by
    /// its geometry (still 2 MiB), and the strict open every writer and import uses refuses it
    /// too, by the block past the size, instead of reading it as an empty disk.
    @Test func aSizeCutToZeroUnderDataIsRejectedByCheckAndByTheStrictOpen() throws {
        let workspace = try Workspace()
        let image = try workspace.create("cut.vhd", megabytes: 2)
        try workspace.write(image, byte: 0x5A, count: 1 << 20, at: 0)
        try workspace.rewriteFooters("cut.vhd") { $0.currentSize = 0 }
        let path = workspace.path("cut.vhd")
        let run = vhdUtil("check", "-n", path)
        #expect(run.status == 22)
        #expect(run.stdout == "primary footer invalid: geometry too large\n" + Self.dump(path))
        let store = try FileBlockStore(path: path, readOnly: true)
        #expect(throws: VHDError.blockBeyondVirtualSize(image: path, block: 0, blockSize: 2 << 20, currentSize: 0)) {
            _ = try Image.open(store: store, name: path)
        }
    }

    @Test func corruptPrimaryFooterIsReportedThenTheMetadataDumped() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        try workspace.patch("x.vhd", at: try workspace.size("x.vhd") - 512, with: Array("garbage!".utf8))
        let path = workspace.path("x.vhd")
        let run = vhdUtil("check", "-n", path)
        #expect(run.status == 22)
        #expect(run.stdout == "primary footer invalid: invalid cookie\n" + Self.dump(path))
        #expect(run.stdout.contains("Disk type           : Dynamic hard disk\n"))
    }

    @Test func killedPrimaryFooterPassesWithIgnoreFooter() throws {
        let workspace = try Workspace()
        let image = try workspace.create("k.vhd", megabytes: 10)
        try workspace.write(image, byte: 7, count: 4096, at: 0)
        try workspace.patch("k.vhd", at: try workspace.size("k.vhd") - 512, with: [UInt8](repeating: 0xC7, count: 512))
        let path = workspace.path("k.vhd")
        #expect(vhdUtil("check", "-n", path).stdout.hasPrefix("primary footer invalid: invalid cookie\n"))
        let ignoring = vhdUtil("check", "-i", "-n", path)
        #expect(ignoring.stdout == "\(path) is valid\n")
        #expect(ignoring.status == 0)
    }

    static let footerRules: [(problem: String, change: @Sendable (inout Footer) -> Void)] = [
        ("invalid 'reserved' feature", { $0.features = 0 }),
        ("invalid extra features", { $0.features = 6 }),
        ("invalid file format version", { $0.fileFormatVersion = 0x0002_0000 }),
        ("creation time in future", { $0.timestamp = VHDTimestamp(secondsSince2000: Check.currentVHDTime() + 86_400) }),
        ("unsupported tap creator version", { $0.creatorVersion = 0x0001_0004 }),
        ("geometry too large", { $0.geometry = Geometry(cylinders: 65535, heads: 16, sectorsPerTrack: 255) }),
        ("invalid 'saved' state", { $0.savedState = 2 }),
        ("invalid 'hidden' state", { $0.hidden = 2 }),
        ("invalid 'reserved' bits", { $0.reserved[1] = 1 }),
        ("invalid (NULL) uuid", { $0.uuid = .null }),
    ]

    @Test(arguments: CheckTests.footerRules.indices)
    func eachFooterRuleIsReportedInBlktapsWords(_ index: Int) throws {
        let rule = Self.footerRules[index]
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        try workspace.rewriteFooters("x.vhd", rule.change)
        let run = vhdUtil("check", "-n", workspace.path("x.vhd"))
        #expect(run.status == 22)
        #expect(
            run.stdout.hasPrefix("primary footer invalid: \(rule.problem)\n\(workspace.path("x.vhd")) appears invalid"))
    }

    @Test func futureTimestampsPassWithIgnoreTimestamps() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        try workspace.rewriteFooters("x.vhd") {
            $0.timestamp = VHDTimestamp(secondsSince2000: Check.currentVHDTime() + 86_400)
        }
        #expect(vhdUtil("check", "-t", "-n", workspace.path("x.vhd")).status == 0)
    }

    @Test func aNonZeroFirstReservedByteGoesUnnoticedAsInBlktap() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        try workspace.rewriteFooters("x.vhd") { $0.reserved[0] = 1 }
        #expect(vhdUtil("check", "-n", workspace.path("x.vhd")).status == 0)
    }

    @Test func badChecksumAndMismatchedCopies() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        try workspace.patch("x.vhd", at: try workspace.size("x.vhd") - 512 + 64, with: [0, 0, 0, 1])
        #expect(
            vhdUtil("check", "-n", workspace.path("x.vhd")).stdout.hasPrefix(
                "primary footer invalid: invalid checksum\n"))
        try workspace.create("y.vhd", megabytes: 10)
        try workspace.rewriteFooters("y.vhd", primaryOnly: true) { $0.hidden = 1 }
        let mismatch = vhdUtil("check", "-n", workspace.path("y.vhd"))
        #expect(mismatch.stdout.hasPrefix("primary and backup footers do not match\n"))
        #expect(mismatch.status == 22)
    }

    @Test func badHeaderChecksumDumpsWhatCannotBeOpened() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        try workspace.patch("x.vhd", at: 512 + 36, with: [0, 0, 0, 0])
        let path = workspace.path("x.vhd")
        let run = vhdUtil("check", "-n", path)
        #expect(run.status == 22)
        #expect(
            run.stdout.hasPrefix(
                """
                header is invalid: invalid checksum
                \(path) appears invalid; dumping metadata
                Failed to open \(path): -22

                \(path) appears invalid; dumping headers


                """))
    }

    @Test func aHeaderOnlyLibvhdRefusesFailsSilentlyBeforeTheDump() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        try workspace.rewriteHeader("x.vhd") { $0.blockSize = 4 << 20 }
        let path = workspace.path("x.vhd")
        let run = vhdUtil("check", "-n", path)
        #expect(run.status == 22)
        #expect(run.stdout.hasPrefix("\(path) appears invalid; dumping metadata\nFailed to open \(path): -22\n"))
    }

    @Test func blocksMustNotOverlapHeadersFooterOrEachOther() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        #expect(vhdUtil("fill", "-b", "-n", workspace.path("x.vhd"), "-t", "8191").status == 0)
        try workspace.setBATEntry("x.vhd", block: 1, sector: 7)
        let overlap = vhdUtil("check", "-n", workspace.path("x.vhd"))
        #expect(overlap.stdout.hasPrefix("block 0 (offset 0x7) clobbers block 1 (offset 0x7)\n"))
        #expect(overlap.status == 22)
        #expect(vhdUtil("check", "-B", "-n", workspace.path("x.vhd")).status == 0)
        try workspace.setBATEntry("x.vhd", block: 1, sector: 2)
        // Block 0 is examined first and block 1 now overlaps it, so that is what is reported.
        #expect(
            vhdUtil("check", "-n", workspace.path("x.vhd")).stdout.hasPrefix(
                "block 0 (offset 0x7) clobbers block 1 (offset 0x2)\n"))
        #expect(
            vhdUtil("check", "-B", "-n", workspace.path("x.vhd")).stdout.hasPrefix(
                "block 1 (offset 0x2) clobbers headers\n"))
        try workspace.setBATEntry("x.vhd", block: 1, sector: 0x10000)
        #expect(
            vhdUtil("check", "-n", workspace.path("x.vhd")).stdout.hasPrefix(
                "block 1 (offset 0x10000) clobbers footer\n"))
    }

    @Test func checkDataReportsSectorsWrittenBehindTheBitmap() throws {
        let workspace = try Workspace()
        let image = try workspace.create("x.vhd", megabytes: 10)
        try workspace.write(image, byte: 1, count: 512, at: 0)
        let dataStart: UInt64 = 3584 + 512
        try workspace.patch("x.vhd", at: dataStart + 5 * 512 + 100, with: [0x5A])
        try workspace.patch("x.vhd", at: dataStart + 9 * 512 + 7, with: [0x5A])
        let path = workspace.path("x.vhd")
        #expect(vhdUtil("check", "-n", path).status == 0)
        let run = vhdUtil("check", "-b", "-n", path)
        #expect(run.status == 22)
        #expect(
            run.stdout.hasPrefix(
                """
                sector 0x5 of block 0x0 has data where bitmap is clear
                sector 0x9 of block 0x0 has data where bitmap is clear
                \(path) appears invalid; dumping metadata

                """))
    }

    @Test func batmapMayNotMarkAnUnallocatedBlockFull() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        var batmap = try BatmapHeader(decoding: workspace.bytes("x.vhd", at: 2048, count: 512))
        var map = [UInt8](repeating: 0, count: 512)
        map[0] = 0x10
        batmap.checksum = BatmapHeader.checksum(of: map, currentSize: 10 << 20, version: batmap.version)
        try workspace.patch("x.vhd", at: 2048, with: batmap.encoded())
        try workspace.patch("x.vhd", at: 2560, with: map)
        let run = vhdUtil("check", "-n", workspace.path("x.vhd"))
        #expect(run.stdout.hasPrefix("batmap shows unallocated block 3 full\n"))
        try workspace.patch("x.vhd", at: 2560, with: [0xFF])
        let badChecksum = vhdUtil("check", "-n", workspace.path("x.vhd"))
        #expect(badChecksum.stdout.hasPrefix("error calculating end of metadata: -22\n"))
    }

    @Test func parentMustResolveAndCarryTheExpectedUUID() throws {
        let workspace = try Workspace()
        try workspace.child("orphan.vhd", of: "gone.vhd", megabytes: 10)
        let orphan = vhdUtil("check", "-n", workspace.path("orphan.vhd"))
        #expect(orphan.stdout.hasPrefix("error resolving ./gone.vhd: -2\n"))
        #expect(orphan.status == 2)

        try workspace.create(
            "base.vhd", megabytes: 10, uuid: try #require(VHDUUID(string: "11111111-2222-4333-8444-555555555555")))
        try workspace.child("child.vhd", of: "base.vhd", megabytes: 10)
        let base = try #require(FileParentResolver.canonicalPath(workspace.path("base.vhd")))
        let mismatch = vhdUtil("check", "-n", workspace.path("child.vhd"))
        #expect(mismatch.stdout.hasPrefix("invalid parent \(base): invalid parent uuid\n"))
        #expect(vhdUtil("check", "-I", "-n", workspace.path("child.vhd")).status == 0)
    }

    @Test func statisticsCompareEachImageWithItsAncestors() throws {
        let workspace = try Workspace()
        let base = try workspace.create("base.vhd", megabytes: 10)
        try workspace.write(base, byte: 1, count: 8 * 512, at: 0)
        let child = try workspace.child("child.vhd", of: "base.vhd", megabytes: 10)
        try workspace.write(child, byte: 2, count: 4 * 512, at: 6 * 512)
        let run = vhdUtil("check", "-s", "-p", "-n", workspace.path("child.vhd"))
        #expect(run.status == 0)
        #expect(
            run.stdout == """
                base.vhd: secs allocated: 0x1000 secs written: 0x8 (0.20%)
                child.vhd: secs allocated: 0x1000 secs written: 0x4 (0.10%) secs not in parent: 0x2 (50.00%) secs not in ancestors: 0x2 (50.00%)

                """)
        #expect(
            vhdUtil("check", "-s", "-n", workspace.path("child.vhd")).stdout
                == "child.vhd: secs allocated: 0x1000 secs written: 0x4 (0.10%)\n")
    }

    @Test func skippingTheOverlapTestPrecludesStatisticsAndBitmaps() throws {
        for flags in [["-B", "-s"], ["-b", "-B"]] {
            let run = vhdUtil(["check", "-n", "x"] + flags)
            #expect(run.status == 22)
            #expect(run.stdout.hasPrefix("options: -n <file>"))
        }
    }

    @Test func parentsAreCheckedInTurnWithCheckParents() throws {
        let workspace = try Workspace()
        try workspace.create("base.vhd", megabytes: 10)
        try workspace.child("child.vhd", of: "base.vhd", megabytes: 10)
        let base = try #require(FileParentResolver.canonicalPath(workspace.path("base.vhd")))
        let child = workspace.path("child.vhd")
        #expect(vhdUtil("check", "-p", "-n", child).stdout == "\(child) is valid\n\(base) is valid\n")

        try workspace.patch("base.vhd", at: try workspace.size("base.vhd") - 512, with: Array("garbage!".utf8))
        let run = vhdUtil("check", "-p", "-n", child)
        #expect(run.status == 22)
        #expect(
            run.stdout == "\(child) is valid\nprimary footer invalid: invalid cookie\n" + Self.dump(base)
                + "error checking parents: -22\n")
    }

    @Test func jsonReportsProblemsPerImage() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        try workspace.rewriteFooters("x.vhd") { $0.uuid = .null }
        let run = vhdUtil("check", "--json", "-n", workspace.path("x.vhd"))
        #expect(run.status == 22)
        let object = try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(object["valid"] as? Bool == false)
        let images = try #require(object["images"] as? [[String: Any]])
        #expect(images.first?["problems"] as? [String] == ["primary footer invalid: invalid (NULL) uuid"])
    }
}
