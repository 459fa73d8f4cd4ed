import Foundation
import Testing
import VHD
import VHDFormat
import VHDUtilCommands

@Suite struct ResizeTests {
    @Test func fastResizeGrowsWithinThePreallocatedBAT() throws {
        let workspace = try Workspace()
        try workspace.create("p.vhd", megabytes: 10, preallocatedMegabytes: 40)
        let path = workspace.path("p.vhd")
        #expect(vhdUtil("resize", "-n", path, "-s", "29", "-f").status == 0)
        #expect(vhdUtil("query", "-n", path, "-v", "-S").stdout == "30\n40\n")
        let shrink = vhdUtil("resize", "-n", path, "-s", "20", "-f")
        #expect(shrink.stdout == "\(path): size (20971520) < curr size (31457280)\n")
        #expect(shrink.status == 22)
        #expect(vhdUtil("resize", "-n", path, "-s", "100", "-f").status == 22)
        #expect(vhdUtil("check", "-n", path).status == 0)
    }

    @Test func journaledResizeMovesBlocksAndKeepsTheData() throws {
        let workspace = try Workspace()
        let image = try workspace.create("x.vhd", megabytes: 10)
        try workspace.write(image, byte: 0x42, count: 10 << 20, at: 0)
        let path = workspace.path("x.vhd")
        let before = vhdUtil("read", "-n", path, "-r", "0", "-c", "20480").stdoutBytes
        let run = vhdUtil("resize", "-n", path, "-s", "300", "-j", workspace.path("journal"))
        #expect(run.status == 0 && run.stdout.isEmpty)
        #expect(!workspace.exists("journal"))
        #expect(vhdUtil("query", "-n", path, "-v").stdout == "300\n")
        #expect(vhdUtil("check", "-n", path).status == 0)
        #expect(vhdUtil("read", "-n", path, "-r", "0", "-c", "20480").stdoutBytes == before)
    }

    @Test func dynamicShrinkIsNotImplemented() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        let run = vhdUtil("resize", "-n", workspace.path("x.vhd"), "-s", "4", "-j", workspace.path("journal"))
        #expect(run.stdout == "dynamic shrink not fully implemented\nresize failed: -38\n")
        #expect(run.status == 38)
        #expect(!workspace.exists("journal"))
    }

    @Test func anExistingJournalIsRefused() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        _ = FileManager.default.createFile(atPath: workspace.path("journal"), contents: Data())
        let run = vhdUtil("resize", "-n", workspace.path("x.vhd"), "-s", "20", "-j", workspace.path("journal"))
        #expect(run.stdout == "creating journal failed: -17\n")
        #expect(run.status == 17)
    }

    @Test func resizeNeedsExactlyOneOfJournalAndFast() {
        #expect(vhdUtil("resize", "-n", "x", "-s", "10").status == 22)
        #expect(vhdUtil("resize", "-n", "x", "-s", "10", "-f", "-j", "j").status == 22)
        #expect(vhdUtil("resize", "-n", "x", "-f").status == 22)
    }

    @Test func onlyTapImagesAreResized() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        try workspace.rewriteFooters("x.vhd") { $0.creatorApplication = Array("qemu".utf8) }
        let path = workspace.path("x.vhd")
        let run = vhdUtil("resize", "-n", path, "-s", "20", "-f")
        #expect(run.stdout == "\(path) not created by xen; resize not supported\n")
        #expect(run.status == 22)
    }

    @Test func revertNeedsAJournal() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        let run = vhdUtil("revert", "-n", workspace.path("x.vhd"), "-j", workspace.path("journal"))
        #expect(run.stdout == "opening journal failed: -2\n")
        #expect(run.status == 2)
        #expect(vhdUtil("revert", "-n", workspace.path("x.vhd")).status == 22)
    }
}

@Suite struct FillCoalesceTests {
    @Test func fillAllocatesEveryBlockWithTheChainsData() throws {
        let workspace = try Workspace()
        let base = try workspace.create("base.vhd", megabytes: 10)
        try workspace.write(base, byte: 5, count: 512, at: 3 << 20)
        try workspace.child("child.vhd", of: "base.vhd", megabytes: 10)
        let child = workspace.path("child.vhd")
        #expect(vhdUtil("fill", "-n", child).status == 0)
        #expect(vhdUtil("query", "-n", child, "-a").stdout == "5\n")
        #expect(
            vhdUtil("read", "-n", child, "-d", "1").stdoutBytes[(1 << 20)..<((1 << 20) + 512)].allSatisfy { $0 == 5 })
        #expect(vhdUtil("check", "-n", child).status == 0)
    }

    @Test func fillBitmapsOnlyHonoursTheSectorRange() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        let path = workspace.path("x.vhd")
        #expect(vhdUtil("fill", "-b", "-f", "4096", "-t", "8191", "-n", path).status == 0)
        #expect(
            vhdUtil("read", "-n", path, "-b", "0", "-c", "3").stdout
                == "block: 0: offset: not allocated\nblock: 1: offset: 3584\nblock: 2: offset: not allocated\n")
        #expect(vhdUtil("check", "-n", path).status == 0)
    }

    @Test func fillRangeOptionsNeedBitmapsOnlyAndAnOrderedRange() {
        let range = vhdUtil("fill", "-n", "x", "-f", "1")
        #expect(range.stdout.hasPrefix("-f/-t can only be used with -b\noptions: <-n name> [-h help]"))
        #expect(range.status == 22)
        #expect(vhdUtil("fill", "-n", "x", "-b", "-f", "10", "-t", "5").stdout.hasPrefix("invalid sector range 10-5\n"))
        #expect(vhdUtil("fill", "-n", "x", "-B").stdout.hasPrefix("-B can only be used with -b\n"))
    }

    @Test func coalescePrintsTheSectorCountWithoutANewline() throws {
        let workspace = try Workspace()
        try workspace.create("base.vhd", megabytes: 10)
        let child = try workspace.child("child.vhd", of: "base.vhd", megabytes: 10)
        try workspace.write(child, byte: 0xEE, count: 3 * 512, at: 512)
        try workspace.write(child, byte: 0xEF, count: 2 << 20, at: 4 << 20)
        let run = vhdUtil("coalesce", "-n", workspace.path("child.vhd"))
        #expect(run.status == 0)
        #expect(run.stdout == "Coalesced 4099 sectors")
        let parent = workspace.path("base.vhd")
        #expect(vhdUtil("read", "-n", parent, "-r", "1", "-c", "1").stdoutBytes == [UInt8](repeating: 0xEE, count: 512))
        #expect(vhdUtil("check", "-n", parent).status == 0)
    }

    @Test func coalesceShowsProgressPerBlock() throws {
        let workspace = try Workspace()
        try workspace.create("base.vhd", megabytes: 10)
        let child = try workspace.child("child.vhd", of: "base.vhd", megabytes: 10)
        try workspace.write(child, byte: 1, count: 512, at: 0)
        let run = vhdUtil("coalesce", "-p", "-n", workspace.path("child.vhd"))
        #expect(run.stdout == "\r  0.00%\r 20.00%\r 40.00%\r 60.00%\r 80.00%\r100.00%\nCoalesced 1 sectors")
    }

    @Test func coalesceOfANonDifferencingDiskFails() throws {
        let workspace = try Workspace()
        try workspace.create("base.vhd", megabytes: 10)
        let run = vhdUtil("coalesce", "-n", workspace.path("base.vhd"))
        #expect(run.stdout == "coalescing of non-differencing disks is not supported\nerror coalescing: -22\n")
        #expect(run.status == 22)
        let missing = vhdUtil("coalesce", "-n", workspace.path("gone.vhd"))
        #expect(missing.stdout == "error opening \(workspace.path("gone.vhd")): -2\nerror coalescing: -2\n")
    }

    @Test func coalesceReportsAMissingParent() throws {
        let workspace = try Workspace()
        try workspace.child("orphan.vhd", of: "gone.vhd", megabytes: 10)
        let path = workspace.path("orphan.vhd")
        let run = vhdUtil("coalesce", "-s", "-n", path)
        #expect(run.stdout == "error finding \(path) parent: -2\nerror coalescing: -2\n")
        #expect(run.status == 2)
    }

    @Test func removedOptionsFallToTheUsage() {
        for option in ["-o", "-a", "-x"] {
            #expect(vhdUtil("coalesce", "-n", "x", option, "y").status == 22)
        }
    }
}

@Suite struct ConvertCopyKeyTests {
    @Test func convertRoundTripsRawThroughADynamicVHD() throws {
        let workspace = try Workspace()
        var bytes = [UInt8](repeating: 0, count: 6 << 20)
        for index in stride(from: 0, to: bytes.count, by: 4099) { bytes[index] = UInt8(truncatingIfNeeded: index) }
        _ = FileManager.default.createFile(atPath: workspace.path("in.raw"), contents: Data(bytes))
        #expect(vhdUtil("convert", workspace.path("in.raw"), workspace.path("mid.vhd")).status == 0)
        #expect(vhdUtil("check", "-n", workspace.path("mid.vhd")).status == 0)
        let run = vhdUtil("convert", "-p", workspace.path("mid.vhd"), workspace.path("out.img"))
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("\r  0.00%") || run.stdout.hasPrefix("\r "))
        #expect(run.stdout.hasSuffix("\r100.00%\n"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: workspace.path("out.img"))) == Data(bytes))
    }

    @Test func convertFormatsCanBeGivenExplicitly() throws {
        let workspace = try Workspace()
        _ = FileManager.default.createFile(atPath: workspace.path("in.bin"), contents: Data(repeating: 1, count: 1 << 20))
        #expect(vhdUtil("convert", "-O", "fixed", workspace.path("in.bin"), workspace.path("out.disk")).status == 0)
        #expect(
            vhdUtil("read", "-p", "-n", workspace.path("out.disk")).stdout
                == "Failed to get bat for \(workspace.path("out.disk")): -22\n")
        let unknown = vhdUtil("convert", "-O", "qcow2", "a.raw", "b.vhd")
        #expect(unknown.status == 22)
        #expect(unknown.stderr.contains("unknown format 'qcow2'"))
        #expect(vhdUtil("convert", "only-one.raw").status == 22)
        let guessless = vhdUtil("convert", workspace.path("in.bin"), workspace.path("out.xyz"))
        #expect(guessless.status == 22)
        #expect(guessless.stderr.hasPrefix("convert: "))
    }

    @Test func copyDuplicatesADynamicDiskThroughItsChain() throws {
        let workspace = try Workspace()
        let image = try workspace.create("x.vhd", megabytes: 10)
        try workspace.write(image, byte: 0x77, count: 4096, at: 8192)
        #expect(vhdUtil("copy", "-n", workspace.path("x.vhd"), "-N", workspace.path("y.vhd")).status == 0)
        #expect(
            vhdUtil("read", "-n", workspace.path("y.vhd"), "-r", "16", "-c", "8").stdoutBytes
                == [UInt8](repeating: 0x77, count: 4096))
        let again = vhdUtil("copy", "-n", workspace.path("x.vhd"), "-N", workspace.path("y.vhd"))
        #expect(again.stdout == "VHD file \(workspace.path("y.vhd")) already exists, chose a different name\n")
        #expect(again.status == 22)
        let unnamed = vhdUtil("copy", "-n", workspace.path("x.vhd"))
        #expect(unnamed.stderr == "Must supply both existing and new VHD names\n")
        #expect(unnamed.status == 22)
    }

    @Test func keyPrintsNoneOrTheHashAndRejectsBadHex() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        let path = workspace.path("x.vhd")
        #expect(vhdUtil("key", "-p", "-n", path).stdout == "none\n")
        let short = vhdUtil("key", "-s", "-n", path, "-H", "abcd")
        #expect(short.stderr == "vhd_util_set_hex: invalid size for hex string\nsetting key failed: -22\n")
        #expect(short.status == 22)
        let nonce = String(repeating: "01", count: 32)
        let hash = String(repeating: "fe", count: 32)
        #expect(vhdUtil("key", "-s", "-n", path, "-H", hash, "-N", nonce).status == 0)
        #expect(vhdUtil("key", "-p", "-n", path).stdout == "\(nonce) \(hash)\n")
        #expect(
            vhdUtil("read", "-p", "-n", path).stdout.contains(
                "Batmap keyhash nonce: \(nonce)\nBatmap keyhash hash : \(hash)\n"))
        #expect(vhdUtil("check", "-n", path).status == 0)
    }
}
