import Foundation
import Testing
import VHD
import VHDFormat
import VHDUtilCommands

@Suite struct QueryTests {
    @Test func everyFieldOfAFreshDiskMatchesBlktapsObservedOutput() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 100)
        let path = workspace.path("x.vhd")
        let run = vhdUtil("query", "-n", path, "-v", "-s", "-p", "-f", "-m", "-d", "-a", "-S")
        #expect(run.status == 0)
        #expect(run.stdout == "100\n3584\n\(path) has no parent\nhidden: 0\nmarker: 0\nchain depth: 1\n0\n100\n")
    }

    @Test func outputOrderIsFixedWhateverTheFlagOrder() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 100)
        let path = workspace.path("x.vhd")
        let forward = vhdUtil("query", "-n", path, "-v", "-s", "-p", "-f", "-m", "-d", "-a", "-S")
        let backward = vhdUtil("query", "-S", "-a", "-d", "-m", "-f", "-p", "-s", "-v", "-n", path)
        #expect(backward.stdout == forward.stdout)
    }

    @Test func childReportsItsResolvedParentDepthAndAllocation() throws {
        let workspace = try Workspace()
        let base = try workspace.create("base.vhd", megabytes: 10)
        try workspace.write(base, byte: 1, count: 4096, at: 0)
        let child = try workspace.child("child.vhd", of: "base.vhd", megabytes: 10)
        try workspace.write(child, byte: 2, count: 512, at: 3 << 20)
        let path = workspace.path("child.vhd")
        let canonicalBase = try #require(FileParentResolver.canonicalPath(workspace.path("base.vhd")))
        let run = vhdUtil("query", "-vsafpd", "-n", path)
        #expect(run.status == 0)
        // The block goes after the metadata (4608), its data page aligned: bitmap at 7680.
        #expect(run.stdout == "10\n\(7680 + 512 + (2 << 20) + 512)\n\(canonicalBase)\nhidden: 0\nchain depth: 2\n1\n")
        #expect(vhdUtil("query", "-p", "-u", "-n", path).stdout == "./base.vhd\n")
    }

    @Test func missingParentFailsTheParentAndDepthQueries() throws {
        let workspace = try Workspace()
        try workspace.child("orphan.vhd", of: "gone.vhd", megabytes: 10)
        let run = vhdUtil("query", "-n", workspace.path("orphan.vhd"), "-p", "-d", "-v")
        #expect(run.stdout == "10\nquery failed\nerror checking chain depth: -2\n")
        #expect(run.status == 2)
    }

    @Test func fixedDiskHasNoBAT() throws {
        let workspace = try Workspace()
        try workspace.create("fixed.vhd", megabytes: 4, type: .fixed)
        let run = vhdUtil("query", "-n", workspace.path("fixed.vhd"), "-v", "-s", "-a", "-S")
        #expect(run.stdout == "4\n\((4 << 20) + 512)\nerror reading bat: -22\n0\n")
        #expect(run.status == 22)
    }

    @Test func openFailuresPrintBlktapsMessageAndErrno() throws {
        let workspace = try Workspace()
        let missing = workspace.path("missing.vhd")
        #expect(vhdUtil("query", "-v", "-n", missing).stdout == "error opening \(missing): -2\n")
        #expect(vhdUtil("query", "-v", "-n", missing).status == 2)
        _ = FileManager.default.createFile(atPath: workspace.path("zeros"), contents: Data(count: 4096))
        let zeros = vhdUtil("query", "-v", "-n", workspace.path("zeros"))
        #expect(zeros.stdout == "error opening \(workspace.path("zeros")): -22\n")
        #expect(zeros.status == 22)
        _ = FileManager.default.createFile(atPath: workspace.path("tiny"), contents: Data(count: 100))
        let tiny = vhdUtil("query", "-v", "-n", workspace.path("tiny"))
        #expect(tiny.stdout == "error opening \(workspace.path("tiny")): -5\n")
        #expect(tiny.status == 5)
    }

    @Test func markerAndHiddenAreSignedCharsAsInBlktap() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        let path = workspace.path("x.vhd")
        #expect(vhdUtil("set", "-n", path, "-f", "marker", "-v", "200").status == 0)
        #expect(vhdUtil("set", "-n", path, "-f", "hidden", "-v", "1").status == 0)
        #expect(vhdUtil("query", "-n", path, "-f", "-m").stdout == "hidden: 1\nmarker: -56\n")
    }

    @Test func jsonGivesTheSameFactsAsAnObject() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 100, preallocatedMegabytes: 200)
        let path = workspace.path("x.vhd")
        let run = vhdUtil("query", "--json", "-n", path, "-v", "-s", "-p", "-f", "-d", "-a", "-S")
        #expect(run.status == 0)
        let object = try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(object["virtual_size_mb"] as? Int == 100)
        #expect(object["max_virtual_size_mb"] as? Int == 200)
        #expect(object["chain_depth"] as? Int == 1)
        #expect(object["allocated_blocks"] as? Int == 0)
        #expect(object["parent"] is NSNull)
        #expect(object["path"] as? String == path)
    }
}
