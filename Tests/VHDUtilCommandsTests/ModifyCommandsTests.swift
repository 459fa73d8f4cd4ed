import Foundation
import Testing
import VHD
import VHDFormat
import VHDUtilCommands

@Suite struct SetRepairModifyTests {
    @Test func setChangesHiddenAndMarker() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        let path = workspace.path("x.vhd")
        #expect(vhdUtil("set", "-n", path, "-f", "hidden", "-v", "1").status == 0)
        #expect(vhdUtil("set", "-n", path, "-f", "marker", "-v", "7").status == 0)
        #expect(vhdUtil("query", "-n", path, "-f", "-m").stdout == "hidden: 1\nmarker: 7\n")
        #expect(vhdUtil("check", "-n", path).status == 0)
        #expect(vhdUtil("read", "-p", "-n", path).stdout.contains("Hidden              : 1\n"))
    }

    @Test func setRejectsUnknownFieldsAndValuesBeforeTheUsage() {
        let field = vhdUtil("set", "-n", "x", "-f", "size", "-v", "1")
        #expect(field.stdout == "invalid field size\noptions: <-n name> <-f field> <-v value> [-h help]\n")
        #expect(field.status == 22)
        let value = vhdUtil("set", "-n", "x", "-f", "hidden", "-v", "256")
        #expect(value.stdout == "invalid value 256\noptions: <-n name> <-f field> <-v value> [-h help]\n")
        let long = vhdUtil("set", "-n", "x", "-f", String(repeating: "h", count: 25), "-v", "1")
        #expect(long.stdout.hasPrefix("invalid field\n"))
        #expect(vhdUtil("set", "-n", "x", "-f", "hidden").status == 22)
    }

    @Test func setOnAMissingFileReportsTheOpenError() throws {
        let workspace = try Workspace()
        let path = workspace.path("missing.vhd")
        let run = vhdUtil("set", "-n", path, "-f", "hidden", "-v", "1")
        #expect(run.stdout == "error opening \(path): -2\n")
        #expect(run.status == 2)
    }

    @Test func repairRestoresAKilledFooter() throws {
        let workspace = try Workspace()
        let image = try workspace.create("x.vhd", megabytes: 10)
        try workspace.write(image, byte: 3, count: 4096, at: 0)
        let end = try workspace.size("x.vhd")
        try workspace.patch("x.vhd", at: end - 512, with: [UInt8](repeating: 0xC7, count: 512))
        let path = workspace.path("x.vhd")
        #expect(vhdUtil("check", "-n", path).status == 22)
        let run = vhdUtil("repair", "-n", path)
        #expect(run.status == 0 && run.stdout.isEmpty)
        #expect(vhdUtil("check", "-n", path).stdout == "\(path) is valid\n")
        #expect(vhdUtil("read", "-n", path, "-r", "0", "-c", "1").stdoutBytes == [UInt8](repeating: 3, count: 512))
    }

    @Test func repairOfAnUnreadableFileReportsTheOpenError() throws {
        let workspace = try Workspace()
        _ = FileManager.default.createFile(atPath: workspace.path("junk"), contents: Data(count: 2048))
        let run = vhdUtil("repair", "-n", workspace.path("junk"))
        #expect(run.stdout == "error opening \(workspace.path("junk")): -22\n")
        #expect(run.status == 22)
        #expect(vhdUtil("repair", "-h").status == 22)
    }

    @Test func modifyKillsDataOfDynamicDisksOnly() throws {
        let workspace = try Workspace()
        let image = try workspace.create("x.vhd", megabytes: 10)
        try workspace.write(image, byte: 1, count: 4 << 20, at: 0)
        let path = workspace.path("x.vhd")
        #expect(vhdUtil("query", "-n", path, "-a").stdout == "2\n")
        #expect(vhdUtil("modify", "-n", path, "-z").status == 0)
        #expect(vhdUtil("query", "-n", path, "-a", "-s").stdout == "3584\n0\n")
        #expect(vhdUtil("check", "-n", path).status == 0)
        try workspace.create("f.vhd", megabytes: 4, type: .fixed)
        let fixed = vhdUtil("modify", "-n", workspace.path("f.vhd"), "-z")
        #expect(fixed.stdout == "failed to zero VHD: -38\n")
        #expect(fixed.status == 38)
    }

    @Test func modifyMovesTheFooterButNeverIntoData() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        let path = workspace.path("x.vhd")
        #expect(vhdUtil("modify", "-n", path, "-s", "1048576").status == 0)
        #expect(try workspace.size("x.vhd") == 1_048_576)
        #expect(vhdUtil("check", "-n", path).status == 0)
        let small = vhdUtil("modify", "-n", path, "-s", "1024")
        #expect(small.stdout == "failed to set physical size to 1024: -22\n")
        #expect(small.status == 22)
        let negative = vhdUtil("modify", "-n", path, "-s", "-1")
        #expect(negative.stdout == "failed to set physical size to 18446744073709551615: -22\n")
        let overflow = vhdUtil("modify", "-n", path, "-s", "99999999999999999999")
        #expect(overflow.stderr == "Invalid size '99999999999999999999'\n")
        #expect(overflow.stdout.hasPrefix("*** Dangerous operations, use with care ***\n"))
        #expect(overflow.status == 22)
    }

    @Test func modifyReparents() throws {
        let workspace = try Workspace()
        try workspace.create("base.vhd", megabytes: 10)
        try workspace.child("child.vhd", of: "base.vhd", megabytes: 10)
        try FileManager.default.copyItem(atPath: workspace.path("base.vhd"), toPath: workspace.path("copy.vhd"))
        let child = workspace.path("child.vhd")
        #expect(vhdUtil("modify", "-n", child, "-p", workspace.path("copy.vhd")).status == 0)
        #expect(vhdUtil("query", "-n", child, "-p", "-u").stdout == "./copy.vhd\n")
        #expect(vhdUtil("check", "-n", child).status == 0)
        let missing = vhdUtil("modify", "-n", child, "-p", workspace.path("gone.vhd"))
        #expect(missing.stdout == "failed to set parent to '\(workspace.path("gone.vhd"))': -2\n")
        #expect(missing.status == 2)
    }
}
