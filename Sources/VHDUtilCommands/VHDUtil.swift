/// The `vhd-util` command line: a drop-in for blktap's tool, with its subcommands, flags, output
/// text and exit codes, runnable in process.
///
/// ```swift
/// let out = CapturedOutput(), err = CapturedOutput()
/// let status = VHDUtil.run(arguments: ["query", "-n", "disk.vhd", "-v"], stdout: out, stderr: err)
/// ```
public enum VHDUtil {
    /// blktap's command table, in its order, then swift-sm's extension `convert`.
    static let commands: [any Subcommand.Type] = [
        CreateCommand.self, SnapshotCommand.self, QueryCommand.self, ReadCommand.self, SetCommand.self,
        RepairCommand.self, ResizeCommand.self, FillCommand.self, CoalesceCommand.self, ModifyCommand.self,
        ScanCommand.self, CheckCommand.self, RevertCommand.self, KeyCommand.self, CopyCommand.self,
        ConvertCommand.self,
    ]

    /// Runs `vhd-util` with `arguments` (the words after the program name) and returns the exit
    /// status: 0, or blktap's positive errno.
    ///
    /// `--debug` is accepted anywhere and logs engine diagnostics to syslog. `--json` selects JSON
    /// output on `query`, `scan`, `check` and `read -p`; it is an error elsewhere, as any unknown
    /// option is.
    public static func run(arguments: [String], stdout: some OutputSink, stderr: some OutputSink) -> Int32 {
        let debug = arguments.contains("--debug")
        var words = arguments.filter { $0 != "--debug" }
        var console = Console(out: stdout, err: stderr, debug: debug)
        defer {
            stdout.flush()
            stderr.flush()
        }
        guard !words.isEmpty else { return help(console) }
        let name = words.removeFirst()
        guard name.utf8.count < 25, let command = commands.first(where: { $0.name == name }) else {
            console.printError("invalid COMMAND \(name)")
            return help(console)
        }
        if command.supportsJSON && words.contains("--json") {
            console.json = true
            words.removeAll { $0 == "--json" }
        }
        return command.main(words, console)
    }

    /// blktap's `help()`: the usage on standard output, exit status 0.
    static func help(_ console: Console) -> Int32 {
        console.out.write(Usage.help)
        return 0
    }
}
