import Foundation
import Testing
import VHD
import VHDFormat
import VHDUtilCommands

@Suite struct ScanTests {
    /// VHD.md's observed chain: hidden base, s1 and s2 over it, s3 over s1.
    static func chain() throws -> Workspace {
        let workspace = try Workspace()
        try workspace.create("base.vhd", megabytes: 10)
        try workspace.child(
            "s1.vhd", of: "base.vhd", uuid: try #require(VHDUUID(string: "00000000-0000-4000-8000-000000000001")),
            megabytes: 10)
        try workspace.child(
            "s2.vhd", of: "base.vhd", uuid: try #require(VHDUUID(string: "00000000-0000-4000-8000-000000000002")),
            megabytes: 10)
        try workspace.child(
            "s3.vhd", of: "s1.vhd", parentUUID: try #require(VHDUUID(string: "00000000-0000-4000-8000-000000000001")),
            megabytes: 10)
        #expect(vhdUtil("set", "-n", workspace.path("base.vhd"), "-f", "hidden", "-v", "1").status == 0)
        return workspace
    }

    @Test func fastScanPrintsOneLinePerImageWithTheHeaderParentName() throws {
        let workspace = try Self.chain()
        let run = vhdUtil("scan", "-f", "-m", workspace.path("*.vhd"))
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n").map(String.init).sorted()
        #expect(
            lines == [
                "vhd=base.vhd capacity=10485760 size=3584 hidden=1 parent=none",
                "vhd=s1.vhd capacity=10485760 size=5120 hidden=0 parent=base.vhd",
                "vhd=s2.vhd capacity=10485760 size=5120 hidden=0 parent=base.vhd",
                "vhd=s3.vhd capacity=10485760 size=5120 hidden=0 parent=s1.vhd",
            ])
    }

    @Test func prettyScanPrintsTheTreeBlktapPrints() throws {
        let workspace = try Self.chain()
        let run = vhdUtil("scan", "-p", "-m", workspace.path("*.vhd"))
        #expect(run.status == 0)
        #expect(
            run.stdout == """
                vhd=base.vhd capacity=10485760 size=3584 hidden=1 parent=none
                   vhd=s1.vhd capacity=10485760 size=5120 hidden=0 parent=base.vhd
                      vhd=s3.vhd capacity=10485760 size=5120 hidden=0 parent=s1.vhd
                   vhd=s2.vhd capacity=10485760 size=5120 hidden=0 parent=base.vhd

                """)
    }

    @Test func prettyScanMarksParentsMissingFromTheScanAndSortsHiddenChildrenLast() throws {
        let workspace = try Self.chain()
        #expect(vhdUtil("set", "-n", workspace.path("s1.vhd"), "-f", "hidden", "-v", "1").status == 0)
        let run = vhdUtil("scan", "-p", "-m", workspace.path("s*.vhd"))
        #expect(
            run.stdout == """
                vhd=s1.vhd capacity=10485760 size=5120 hidden=1 parent=base.vhd (not found in scan)
                   vhd=s3.vhd capacity=10485760 size=5120 hidden=0 parent=s1.vhd
                vhd=s2.vhd capacity=10485760 size=5120 hidden=0 parent=base.vhd (not found in scan)

                """)
        let all = vhdUtil("scan", "-p", "-m", workspace.path("*.vhd"))
        #expect(
            all.stdout.split(separator: "\n").map(String.init) == [
                "vhd=base.vhd capacity=10485760 size=3584 hidden=1 parent=none",
                "   vhd=s2.vhd capacity=10485760 size=5120 hidden=0 parent=base.vhd",
                "   vhd=s1.vhd capacity=10485760 size=5120 hidden=1 parent=base.vhd",
                "      vhd=s3.vhd capacity=10485760 size=5120 hidden=0 parent=s1.vhd",
            ])
    }

    @Test func verboseScanPrintsFullNamesAndResolvedParents() throws {
        let workspace = try Self.chain()
        let s3 = workspace.path("s3.vhd")
        let s1 = try #require(FileParentResolver.canonicalPath(workspace.path("s1.vhd")))
        let run = vhdUtil("scan", "-v", s3)
        #expect(run.stdout == "vhd=\(s3) capacity=10485760 size=5120 hidden=0 parent=\(s1)\n")
    }

    @Test func scanningParentsAddsThemOnce() throws {
        let workspace = try Self.chain()
        let run = vhdUtil("scan", "-a", workspace.path("s3.vhd"))
        #expect(
            run.stdout == """
                vhd=s3.vhd capacity=10485760 size=5120 hidden=0 parent=s1.vhd
                vhd=s1.vhd capacity=10485760 size=5120 hidden=0 parent=base.vhd
                vhd=base.vhd capacity=10485760 size=3584 hidden=1 parent=none

                """)
    }

    @Test func rawParentsFoundWithScanParentsAreHiddenAndSizedByTheFile() throws {
        let workspace = try Workspace()
        _ = FileManager.default.createFile(atPath: workspace.path("base.raw"), contents: Data(count: 5 << 20))
        #expect(
            vhdUtil("snapshot", "-m", "-n", workspace.path("leaf.vhd"), "-p", workspace.path("base.raw")).status == 0)
        let run = vhdUtil("scan", "-a", workspace.path("leaf.vhd"))
        #expect(
            run.stdout == """
                vhd=leaf.vhd capacity=5242880 size=5120 hidden=0 parent=base.raw
                vhd=base.raw capacity=5242880 size=5242880 hidden=1 parent=none

                """)
    }

    @Test func markersShowMarkerAndKeyHash() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        let path = workspace.path("x.vhd")
        #expect(vhdUtil("set", "-n", path, "-f", "marker", "-v", "200").status == 0)
        #expect(
            vhdUtil("scan", "-M", path).stdout
                == "vhd=x.vhd capacity=10485760 size=3584 hidden=0 marker=200 keyhash= parent=none\n")
        let hash = String(repeating: "ab", count: 32)
        #expect(vhdUtil("key", "-s", "-n", path, "-H", hash).status == 0)
        #expect(
            vhdUtil("scan", "-M", path).stdout
                == "vhd=x.vhd capacity=10485760 size=3584 hidden=0 marker=200 keyhash=\(hash) parent=none\n")
        #expect(vhdUtil("key", "-p", "-n", path).stdout == String(repeating: "00", count: 32) + " " + hash + "\n")
    }

    @Test func missingTargetStopsTheScanWithItsErrno() throws {
        let workspace = try Workspace()
        let missing = workspace.path("nonexist.vhd")
        let run = vhdUtil("scan", missing)
        #expect(run.status == 2)
        #expect(run.stdout == "vhd=\(missing) scan-error=-2 error-message='failure scanning target'\n")
        #expect(run.stderr == "scan failed: -2. Check syslog for details\n")
    }

    @Test func continueOnFailureScansAZeroedTargetAndSucceeds() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 10)
        let missing = workspace.path("nonexist.vhd")
        let run = vhdUtil("scan", "-c", missing, workspace.path("x.vhd"))
        #expect(run.status == 0)
        #expect(
            run.stdout == """
                vhd=\(missing) scan-error=-2 error-message='failure scanning target'
                vhd=. capacity=0 size=0 hidden=1 parent=none
                vhd=x.vhd capacity=10485760 size=3584 hidden=0 parent=none

                """)
    }

    @Test func unopenableImagesReportOpeningFile() throws {
        let workspace = try Workspace()
        _ = FileManager.default.createFile(atPath: workspace.path("junk.vhd"), contents: Data(count: 4096))
        let run = vhdUtil("scan", workspace.path("junk.vhd"))
        #expect(run.status == 22)
        #expect(run.stdout == "vhd=\(workspace.path("junk.vhd")) scan-error=-22 error-message='opening file'\n")
        #expect(run.stderr.isEmpty)
    }

    @Test func globWithoutMatchesIsSuccessAndAMissingDirectoryIsNot() throws {
        let workspace = try Workspace()
        let none = vhdUtil("scan", "-m", workspace.path("*.vhd"))
        #expect(none.status == 0)
        #expect(none.stdout.isEmpty)
        let directory = workspace.path("absent")
        let missing = vhdUtil("scan", "-m", directory + "/*.vhd")
        #expect(missing.status == 5)
        #expect(
            missing.stdout == """
                vhd=\(directory) scan-error=2 error-message='failure scanning target'
                vhd=\(directory)/*.vhd scan-error=-5 error-message='failure scanning target'

                """)
        #expect(missing.stderr == "scan failed: -5. Check syslog for details\n")
    }

    @Test func globBracesAreExpanded() throws {
        let workspace = try Self.chain()
        let run = vhdUtil("scan", "-m", workspace.path("{s2,s3}.vhd"))
        #expect(run.stdout.split(separator: "\n").count == 2)
        #expect(run.stdout.contains("vhd=s2.vhd"))
    }

    @Test func lvmScanningIsRefusedClearly() {
        let run = vhdUtil("scan", "-l", "VG_XenStorage", "-m", "VHD-*")
        #expect(run.status == 38)
        #expect(run.stderr.contains("LVM scanning is not yet supported"))
        #expect(run.stdout.isEmpty)
    }

    @Test func scanNeedsAFilterOrFiles() {
        let run = vhdUtil("scan", "-f")
        #expect(run.status == 22)
        #expect(run.stdout.hasPrefix("usage: [OPTIONS] FILES\n"))
    }

    @Test func jsonListsTheSameImages() throws {
        let workspace = try Self.chain()
        let run = vhdUtil("scan", "--json", "-p", "-m", workspace.path("*.vhd"))
        let entries = try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(entries.map { $0["depth"] as? Int } == [0, 1, 2, 1])
        #expect(entries.first?["hidden"] as? Int == 1)
    }
}
