/// A `vhd-util` subcommand: its name, its getopt option string, its usage text, and how it runs.
protocol Subcommand: Sendable {
    /// The command word (`query`).
    static var name: String { get }
    /// glibc getopt option string (`"n:vspfdSmauh"`).
    static var optionString: String { get }
    /// The usage text blktap prints (from `Usage`).
    static var usage: String { get }
    /// Whether `--json` is accepted.
    static var supportsJSON: Bool { get }

    /// Runs with the arguments after the command word (without `--debug` and `--json`),
    /// returning the exit status.
    static func main(_ arguments: [String], _ console: Console) -> Int32
}

extension Subcommand {
    static var supportsJSON: Bool { false }

    /// Prints the usage text and returns `status`.
    static func usage(_ console: Console, status: Int32) -> Int32 {
        console.out.write(usage)
        return status
    }

    /// A getopt scanner over `arguments` with this command's option string.
    static func options(_ arguments: [String]) -> GetOpt {
        GetOpt(arguments, optionString: optionString, commandName: name)
    }
}

/// The errno values blktap returns.
enum Errno {
    static let noEntry: Int32 = 2
    static let io: Int32 = 5
    static let noMemory: Int32 = 12
    static let exists: Int32 = 17
    static let invalid: Int32 = 22
    static let noSpace: Int32 = 28
    static let range: Int32 = 34
    static let nameTooLong: Int32 = 36
    static let notImplemented: Int32 = 38
    static let overflow: Int32 = 75
}
