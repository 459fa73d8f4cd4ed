import Foundation
import TestSupport
import Testing
import VHD
import VHDFormat

/// `vhd-util resize -j` and `revert` interchangeable with blktap's: blktap's journals (built
/// byte for byte in `BlktapResizeFixture`) revert with ours, ours are blktap's, and a resize
/// stopped at any failure point reverts to the very bytes it started from.
@Suite struct BlktapJournalTests {
    typealias Point = BlktapResizeFixture.Point
    static let garbagePadding: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]

    static func contents(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    static func store(_ bytes: [UInt8], at path: String) {
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    }

    /// The built `vhd-util` run as a process, its output in files (never pipes).
    static func vhdUtilProcess(_ arguments: [String], failingAt point: Point? = nil) throws -> ToolResult {
        let environment = point.map { ["VHD_UTIL_TEST_FAIL_" + $0.rawValue: "1"] } ?? [:]
        return try Tool(name: "vhd-util", path: try #require(ExecutableTests.binary)).run(
            arguments, environment: environment, timeout: 120)
    }

    /// What `BlktapResizeFixture.makeDisk` writes at 0.
    static let pattern = (0..<(16 * 512)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }

    @Test(arguments: Point.allCases, [[UInt8](repeating: 0, count: 4), garbagePadding])
    func blktapsInterruptedResizeRevertsWithOurRevert(point: Point, padding: [UInt8]) throws {
        let workspace = try Workspace()
        try BlktapResizeFixture.makeDisk(workspace, "x.vhd")
        let path = workspace.path("x.vhd")
        let journal = workspace.path("x.journal")
        let fixture = BlktapResizeFixture(original: try Self.contents(path), padding: padding)
        Self.store(try fixture.disk(at: point), at: path)
        Self.store(fixture.journal(at: point), at: journal)

        let run = vhdUtil("revert", "-n", path, "-j", journal)
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout.isEmpty)
        #expect(!workspace.exists("x.journal"))
        #expect(try Self.contents(path) == fixture.reverted(at: point))
        #expect(vhdUtil("check", "-n", path).stdout == "\(path) is valid\n")
        #expect(vhdUtil("query", "-n", path, "-v").stdout == "10\n")
        #expect(vhdUtil("read", "-n", path, "-r", "0", "-c", "16").stdoutBytes == Self.pattern)
    }

    @Test func aDamagedJournalIsRefusedBeforeAnythingIsWritten() throws {
        let workspace = try Workspace()
        try BlktapResizeFixture.makeDisk(workspace, "x.vhd")
        let path = workspace.path("x.vhd")
        let journal = workspace.path("x.journal")
        let fixture = BlktapResizeFixture(original: try Self.contents(path), padding: Self.garbagePadding)
        let disk = try fixture.disk(at: .dataMoved)
        var bytes = fixture.journal(at: .dataMoved)
        bytes[bytes.count - 1] ^= 0xFF  // the last byte of block 0's saved data
        Self.store(disk, at: path)
        Self.store(bytes, at: journal)
        let run = vhdUtil("revert", "-n", path, "-j", journal)
        #expect(run.status == 22)
        #expect(run.stdout == "opening journal failed: -22\n")
        #expect(workspace.exists("x.journal"))
        #expect(try Self.contents(path) == disk)
    }

    @Test(.enabled(if: ExecutableTests.binary != nil), arguments: Point.allCases)
    func ourInterruptedResizeLeavesBlktapsJournalAndDisk(point: Point) throws {
        let workspace = try Workspace()
        try BlktapResizeFixture.makeDisk(workspace, "x.vhd")
        let path = workspace.path("x.vhd")
        let journal = workspace.path("x.journal")
        let fixture = BlktapResizeFixture(original: try Self.contents(path), padding: [0, 0, 0, 0])
        let run = try Self.vhdUtilProcess(["resize", "-n", path, "-s", "600", "-j", journal], failingAt: point)
        #expect(run.status == 22)
        #expect(run.output == "Failing at VHD_UTIL_TEST_FAIL_\(point.rawValue)\n")
        #expect(try Self.contents(path) == fixture.disk(at: point))
        let ours = try Self.contents(journal)
        let blktaps = fixture.journal(at: point)
        guard point == .end else {
            #expect(ours == blktaps)
            return
        }
        // Before writing the grown batmap header over the padding sector at 3072, ours saves
        // that sector too (one more data entry, which blktap's revert replays like any other).
        #expect(ours.count == blktaps.count + 32 + 512)
        #expect(ours[512..<blktaps.count] == blktaps[512...])
        let extra = try #require(JournalEntry(decoding: Array(ours[blktaps.count..<blktaps.count + 32])))
        #expect(extra.kind == .data && extra.offset == 3072 && extra.size == 512)
        #expect(Array(ours[(blktaps.count + 32)...]) == Array(fixture.original[3072..<3584]))
        let header = try #require(JournalHeader(decoding: Array(ours[0..<512])))
        let expected = try #require(JournalHeader(decoding: Array(blktaps[0..<512])))
        #expect(header.dataEntries == 3 && header.journalEOF == UInt64(ours.count))
        #expect(header.metadataEntries == expected.metadataEntries && header.dataOffset == expected.dataOffset)
    }

    /// A dynamic disk or a differencing one (whose locators shift), grown so that only the BAT
    /// outgrows its sector (600 MiB) or the batmap too (12000 MiB).
    static let layouts: [(kind: String, megabytes: Int)] = [
        ("dynamic", 600), ("dynamic", 12000), ("differencing", 600), ("differencing", 12000),
    ]

    @Test(.enabled(if: ExecutableTests.binary != nil), arguments: Point.allCases, layouts)
    func anInterruptedResizeRevertsByteForByte(point: Point, layout: (kind: String, megabytes: Int)) throws {
        let workspace = try Workspace()
        if layout.kind == "dynamic" {
            try BlktapResizeFixture.makeDisk(workspace, "x.vhd")
        } else {
            let base = try workspace.create("base.vhd", megabytes: 10)
            try workspace.write(base, byte: 0x11, count: 4 << 20, at: 0)
            let child = try workspace.child("x.vhd", of: "base.vhd", megabytes: 10)
            try workspace.write(child, byte: 0x22, count: 16 * 512, at: 512)
        }
        let path = workspace.path("x.vhd")
        let journal = workspace.path("x.journal")
        let before = try Self.contents(path)
        let failed = try Self.vhdUtilProcess(
            ["resize", "-n", path, "-s", "\(layout.megabytes)", "-j", journal], failingAt: point)
        #expect(failed.status == 22)
        #expect(failed.output == "Failing at VHD_UTIL_TEST_FAIL_\(point.rawValue)\n")
        let reverted = try Self.vhdUtilProcess(["revert", "-n", path, "-j", journal])
        #expect(reverted.status == 0 && reverted.output.isEmpty)
        #expect(!workspace.exists("x.journal"))
        #expect(try Self.contents(path) == before)
        #expect(try Self.vhdUtilProcess(["check", "-n", path]).output == "\(path) is valid\n")
    }

    @Test func aFixedDiskIsRefusedAsBlktapRefusesIt() throws {
        let workspace = try Workspace()
        try workspace.create("f.vhd", megabytes: 4, type: .fixed)
        let path = workspace.path("f.vhd")
        let before = try Self.contents(path)
        for megabytes in ["8", "4", "2"] {
            let run = vhdUtil("resize", "-n", path, "-s", megabytes, "-j", workspace.path("journal"))
            #expect(run.status == 22)
            #expect(run.stdout == "creating journal failed: -22\n")
            #expect(!workspace.exists("journal"))
        }
        #expect(try Self.contents(path) == before)
    }

    @Test func aGrowThatCompletesIsValidAndKeepsTheData() throws {
        let workspace = try Workspace()
        try BlktapResizeFixture.makeDisk(workspace, "x.vhd")
        let path = workspace.path("x.vhd")
        let run = vhdUtil("resize", "-n", path, "-s", "600", "-j", workspace.path("journal"))
        #expect(run.status == 0 && run.stdout.isEmpty)
        #expect(!workspace.exists("journal"))
        #expect(vhdUtil("check", "-n", path).stdout == "\(path) is valid\n")
        #expect(vhdUtil("query", "-n", path, "-v", "-s").stdout == "600\n4203008\n")
        #expect(vhdUtil("read", "-n", path, "-b", "0").stdout == "block: 0: offset: 2104832\n")
        #expect(vhdUtil("read", "-n", path, "-r", "0", "-c", "16").stdoutBytes == Self.pattern)
    }
}
