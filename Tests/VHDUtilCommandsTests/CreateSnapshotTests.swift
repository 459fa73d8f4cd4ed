import Foundation
import Testing
import VHD
import VHDFormat
import VHDUtilCommands

@Suite struct CreateSnapshotTests {
    @Test func sizesAreRoundedUpToWholeTwoMegabyteBlocks() throws {
        let workspace = try Workspace()
        let dynamic = workspace.path("d.vhd")
        #expect(vhdUtil("create", "-n", dynamic, "-s", "3").status == 0)
        #expect(vhdUtil("query", "-n", dynamic, "-v", "-s", "-S").stdout == "4\n3584\n4\n")
        let fixed = workspace.path("f.vhd")
        let run = vhdUtil("create", "-n", fixed, "-s", "3", "-r")
        #expect(run.status == 0 && run.stdout.isEmpty)
        #expect(try workspace.size("f.vhd") == (4 << 20) + 512)
        #expect(vhdUtil("check", "-n", fixed).status == 0)
    }

    @Test func createsTheLayoutBlktapWrites() throws {
        let workspace = try Workspace()
        let path = workspace.path("x.vhd")
        #expect(vhdUtil("create", "-n", path, "-s", "100").status == 0)
        #expect(try workspace.size("x.vhd") == 3584)
        let dump = vhdUtil("read", "-p", "-n", path).stdout
        #expect(dump.contains("Max BAT size        : 50\n"))
        #expect(dump.contains("Batmap offset       : 2560\n"))
        #expect(vhdUtil("check", "-n", path).stdout == "\(path) is valid\n")
    }

    /// blktap pads an empty BAT to a whole sector (`vhd_bytes_padded(0)` is 512), so a 0 MiB disk
    /// is 3,584 bytes with its batmap header at 2048; a 3,072-byte layout fails blktap's `check`.
    @Test func aZeroSizedDiskHasBlktapsLayout() throws {
        let workspace = try Workspace()
        let path = workspace.path("z.vhd")
        #expect(vhdUtil("create", "-n", path, "-s", "0").status == 0)
        #expect(try workspace.size("z.vhd") == 3584)
        #expect(try workspace.bytes("z.vhd", at: 1536, count: 512) == [UInt8](repeating: 0, count: 512))
        #expect(try workspace.bytes("z.vhd", at: 2048, count: 8) == Array("tdbatmap".utf8))
        #expect(try workspace.bytes("z.vhd", at: 3072, count: 8) == Array("conectix".utf8))
        let dump = vhdUtil("read", "-p", "-n", path).stdout
        #expect(dump.contains("Max BAT size        : 0\n"))
        #expect(dump.contains("Batmap offset       : 2560\n"))
        #expect(vhdUtil("check", "-n", path).stdout == "\(path) is valid\n")
    }

    @Test func metadataPreallocationSizesTheBATAndMayNotBeSmaller() throws {
        let workspace = try Workspace()
        let path = workspace.path("p.vhd")
        #expect(vhdUtil("create", "-n", path, "-s", "10", "-S", "40").status == 0)
        #expect(vhdUtil("query", "-n", path, "-v", "-S").stdout == "10\n40\n")
        let smaller = vhdUtil("create", "-n", workspace.path("q.vhd"), "-s", "10", "-S", "5")
        #expect(smaller.stdout == "Error: <-S size> must be greater than <-s size>\n")
        #expect(smaller.status == 22)
        #expect(!workspace.exists("q.vhd"))
    }

    @Test func createNeedsANameAndASize() {
        #expect(vhdUtil("create", "-n", "x.vhd").status == 22)
        #expect(vhdUtil("create", "-s", "10").status == 22)
    }

    @Test func creationFailureIsReportedOnStderr() throws {
        let workspace = try Workspace()
        let path = workspace.path("missing/x.vhd")
        let run = vhdUtil("create", "-n", path, "-s", "10")
        #expect(run.status == 2)
        #expect(run.stderr == "\(path): failed to create: -2\n")
    }

    @Test func snapshotLinksTheChildAndWalksPastEmptyParents() throws {
        let workspace = try Workspace()
        let base = try workspace.create("base.vhd", megabytes: 10)
        try workspace.write(base, byte: 1, count: 512, at: 0)
        #expect(vhdUtil("snapshot", "-n", workspace.path("s1.vhd"), "-p", workspace.path("base.vhd")).status == 0)
        #expect(vhdUtil("snapshot", "-n", workspace.path("s2.vhd"), "-p", workspace.path("s1.vhd")).status == 0)
        let canonicalBase = try #require(FileParentResolver.canonicalPath(workspace.path("base.vhd")))
        #expect(vhdUtil("query", "-n", workspace.path("s2.vhd"), "-p").stdout == "\(canonicalBase)\n")
        #expect(vhdUtil("snapshot", "-e", "-n", workspace.path("s3.vhd"), "-p", workspace.path("s1.vhd")).status == 0)
        #expect(
            vhdUtil("query", "-n", workspace.path("s3.vhd"), "-p", "-u", "-d").stdout == "./s1.vhd\nchain depth: 3\n")
        #expect(vhdUtil("check", "-p", "-n", workspace.path("s3.vhd")).status == 0)
    }

    @Test func snapshotDepthLimitIsEnforced() throws {
        let workspace = try Workspace()
        let base = try workspace.create("base.vhd", megabytes: 10)
        try workspace.write(base, byte: 1, count: 512, at: 0)
        let run = vhdUtil("snapshot", "-n", workspace.path("s.vhd"), "-p", workspace.path("base.vhd"), "-l", "1")
        #expect(run.stdout == "snapshot depth exceeded: current depth: 1, limit: 1\n")
        #expect(run.status == 28)
        #expect(
            vhdUtil("snapshot", "-n", workspace.path("s.vhd"), "-p", workspace.path("base.vhd"), "-l", "2").status == 0)
    }

    @Test func snapshotOfAMissingParentFailsSilentlyWithENOENT() throws {
        let workspace = try Workspace()
        let run = vhdUtil("snapshot", "-n", workspace.path("s.vhd"), "-p", workspace.path("missing.vhd"))
        #expect(run.status == 2)
        #expect(run.stdout.isEmpty && run.stderr.isEmpty)
        #expect(vhdUtil("snapshot", "-n", workspace.path("s.vhd")).status == 22)
    }

    @Test func rawParentSnapshotTakesTheFileSize() throws {
        let workspace = try Workspace()
        #expect(FileManager.default.createFile(atPath: workspace.path("base.raw"), contents: Data(repeating: 9, count: 5 << 20)))
        let leaf = workspace.path("leaf.vhd")
        #expect(vhdUtil("snapshot", "-m", "-n", leaf, "-p", workspace.path("base.raw")).status == 0)
        #expect(vhdUtil("query", "-n", leaf, "-v", "-d").stdout == "5\nchain depth: 2\n")
        #expect(vhdUtil("read", "-n", leaf, "-p").stdout.contains("Current disk size   : 5 MB (5242880 Bytes)\n"))
        #expect(vhdUtil("read", "-n", leaf, "-R", "100", "-c", "3").stdoutBytes == [9, 9, 9])
        #expect(vhdUtil("check", "-n", leaf).status == 0)
    }
}
