import Testing
import VHDUtilCommands

@Suite struct DispatcherTests {
    static let help = """
        usage: vhd-util COMMAND [OPTIONS]
        COMMAND := { create | snapshot | query | read | set | repair | resize | fill | coalesce | modify | scan | check | revert | key | copy }

        """

    @Test func noArgumentsPrintsTheHelpAndExitsZero() {
        let run = vhdUtil()
        #expect(run.status == 0)
        #expect(run.stdout == Self.help)
        #expect(run.stderr.isEmpty)
    }

    @Test(arguments: ["bogus", "journal", "QUERY", "queryqueryqueryqueryquery1"])
    func unknownCommandIsReportedOnStderrThenHelpWithStatusZero(_ name: String) {
        let run = vhdUtil(name, "-n", "x")
        #expect(run.status == 0)
        #expect(run.stderr == "invalid COMMAND \(name)\n")
        #expect(run.stdout == Self.help)
    }

    /// The `-h` usage text and status of each command, as blktap prints them.
    static let usages: [(command: String, status: Int32, text: String)] = [
        (
            "create", 22,
            "options: <-n name> <-s size (MB)> [-r reserve] [-h help] [<-S size (MB) for metadata preallocation (see vhd-util resize)>]\n"
        ),
        (
            "snapshot", 0,
            "options: <-n name> <-p parent name> [-l snapshot depth limit] [-m parent_is_raw] [-S size (MB) for metadata preallocation (see vhd-util resize)] [-e link to supplied parent name even if it's empty] [-h help]\n"
        ),
        (
            "query", 0,
            "options: <-n name> [-v print virtual size (in MB)] [-s print physical utilization (bytes)] [-p print parent] [-f print fields] [-m print marker] [-d print chain depth] [-S print max virtual size (MB) for fast resize] [-a print allocated block count] [-u don't resolve parent path] [-h help]\n"
        ),
        ("set", 22, "options: <-n name> <-f field> <-v value> [-h help]\n"),
        ("repair", 22, "options: <-n name> <-b use the back-up footer> [-h help]\n"),
        (
            "resize", 22,
            "options: <-n name> <-s size (in MB)> (<-j journal>|<-f fast>) [-h help]\n\nThe resize operation can only be performed offline and must be journaled because resizing the metadata might require moving data blocks. However, if a VHD was created with -S <msize> option (during vhd-util create/snapshot), which preallocates the metadata for growing the VHD up to size <msize>, then resizing such a VHD up to <msize> can be performed online without journaling (-f option).\n"
        ),
        (
            "fill", 22,
            "options: <-n name> [-h help] [-b initialise the BAT and bitmaps, don't write to the data blocks (much faster)] [-f start intialisation from this sector, only usable with -b] [-t intialise up to this sector (inclusive), only usable with -b] [-B ignore the 2 TB limit, only usable with -b]\n"
        ),
        ("coalesce", 22, "options: <-n name> [-s sparse] [-p progress] [-h help]\n"),
        (
            "modify", 22,
            "*** Dangerous operations, use with care ***\noptions: <-n name> [-p NEW_PARENT set parent [-m raw]] [-s NEW_SIZE set size] [-z zero (kill data)] [-h help]\n"
        ),
        (
            "scan", 0,
            "usage: [OPTIONS] FILES\noptions: [-m match filter] [-f fast] [-c continue on failure] [-l LVM volume] [-p pretty print] [-a scan parents] [-v verbose] [-h help] [-M show markers]\n"
        ),
        (
            "check", 0,
            "options: -n <file> [-i ignore missing primary footers] [-I ignore parent uuids] [-t ignore timestamps] [-B do not check BAT for overlapping (precludes -s, -b)] [-p check parents] [-b check bitmaps] [-s stats] [-h help]\n"
        ),
        ("revert", 22, "options: <-n name> <-j journal> [-h help]\n"),
        (
            "copy", 22,
            "options: -n <name> -N <new VHD name> [-k <keyfile> | -E (pass encryption key on stdin)] [-h help] \n"
        ),
        (
            "read", 22,
            "options:\n-h          help\n-n          name\n-p          print VHD headers\n-t sec      translate logical sector to VHD location\n-b blk      print bat entry\n-B          print entire bat as a bitmap\n-m blk      print bitmap\n-i sec      test bitmap for logical sector\n-e sec      output extent list of allocated logical sectors\n-a          print batmap\n-j blk      test batmap for block\n-d blk      print data\n-c num      num units\n-r sec      read num sectors at sec\n-R byte     read num bytes at byte\n-x          print in hex\n"
        ),
    ]

    @Test(arguments: DispatcherTests.usages.indices)
    func helpPrintsBlktapsUsageWithItsStatus(_ index: Int) {
        let usage = Self.usages[index]
        let run = vhdUtil(usage.command, "-h")
        #expect(run.stdout == usage.text, "\(usage.command)")
        #expect(run.status == usage.status, "\(usage.command)")
        #expect(run.stderr.isEmpty)
    }

    @Test func keyPrintsItsUsageOnStderr() {
        let run = vhdUtil("key", "-h")
        #expect(run.status == 0)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.hasPrefix("usage:\n-C -k KEYPATH [-N NONCE]: calculate keyhash for KEYPATH\n"))
        #expect(vhdUtil("key").status == 22)
    }

    @Test func unknownOptionIsReportedLikeGlibcGetopt() {
        let run = vhdUtil("check", "-z", "-n", "x")
        #expect(run.status == 22)
        #expect(run.stderr == "check: invalid option -- 'z'\n")
        #expect(run.stdout.hasPrefix("options: -n <file>"))
    }

    @Test func missingOptionValueIsReportedLikeGlibcGetopt() {
        let run = vhdUtil("query", "-v", "-n")
        #expect(run.status == 22)
        #expect(run.stderr == "query: option requires an argument -- 'n'\n")
    }

    @Test func longOptionsAreScannedAsShortOptions() {
        let run = vhdUtil("create", "--json", "-n", "x", "-s", "1")
        #expect(run.status == 22)
        #expect(run.stderr == "create: invalid option -- '-'\n")
    }

    @Test func helpStopsParsingBeforeLaterErrors() {
        #expect(vhdUtil("query", "-h", "-z").status == 0)
        #expect(vhdUtil("query", "-z", "-h").status == 22)
    }

    @Test func strayOperandsAndDoubleDashAreUsageErrors() throws {
        let workspace = try Workspace()
        try workspace.create("a.vhd", megabytes: 10)
        let path = workspace.path("a.vhd")
        #expect(vhdUtil("query", "-n", path, "extra").status == 22)
        #expect(vhdUtil("query", "-n", path, "--", "-v").status == 22)
        #expect(vhdUtil("query", "-v", "--").status == 22)
    }

    @Test func combinedFlagsAndAttachedValuesMatchSeparateOnes() throws {
        let workspace = try Workspace()
        try workspace.create("a.vhd", megabytes: 10)
        let path = workspace.path("a.vhd")
        let separate = vhdUtil("query", "-n", path, "-v", "-s", "-a", "-f", "-p")
        let combined = vhdUtil("query", "-vsafp", "-n\(path)")
        let clustered = vhdUtil("query", "-vsafpn", path)
        #expect(separate.status == 0)
        #expect(combined.stdout == separate.stdout)
        #expect(clustered.stdout == separate.stdout)
        #expect(separate.stdout == "10\n3584\n\(path) has no parent\nhidden: 0\n0\n")
    }

    @Test func optionsMayFollowOperandsAndValuesMayStartWithADash() throws {
        let workspace = try Workspace()
        try workspace.create("-odd.vhd", megabytes: 4)
        let run = vhdUtil("query", "-v", "-n", workspace.path("-odd.vhd"))
        #expect(run.status == 0)
        #expect(run.stdout == "4\n")
    }

    @Test(arguments: [0, 1, 2, 4])
    func debugIsAcceptedAnywhere(_ position: Int) throws {
        let workspace = try Workspace()
        try workspace.create("a.vhd", megabytes: 10)
        var arguments = ["query", "-n", workspace.path("a.vhd"), "-v"]
        arguments.insert("--debug", at: position)
        let run = vhdUtil(arguments)
        #expect(run.status == 0)
        #expect(run.stdout == "10\n")
        #expect(run.stderr.isEmpty)
    }
}
