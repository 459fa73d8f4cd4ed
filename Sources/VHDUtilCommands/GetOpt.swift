import Glibc

/// glibc `getopt(3)` as blktap's subcommands call it: short options from an option string
/// (`"n:vsp"`, a colon after a letter that takes a value), clusters (`-vsp`), values attached
/// (`-nfoo`) or in the next argument (`-n foo`, even when it starts with `-`), operands mixed in
/// anywhere (argument permutation), and `--` ending the options.
///
/// Errors print glibc's messages on standard error, prefixed with the subcommand name. With
/// `POSIXLY_CORRECT` set, the first operand ends the options, as in glibc.
struct GetOpt {
    enum Event: Equatable {
        /// A known option and its value, when it takes one.
        case option(Character, String?)
        /// An unknown option, or one missing its value: glibc's `'?'`, already reported.
        case error
    }

    let commandName: String
    private let arguments: [String]
    private let takesValue: [UInt8: Bool]
    private let stopAtFirstOperand = getenv("POSIXLY_CORRECT") != nil
    private var index = 0
    /// The remaining characters of the option cluster being read.
    private var cluster: ArraySlice<UInt8> = []
    /// The operands seen so far; complete once `next` has returned nil.
    private(set) var operands: [String] = []

    init(_ arguments: [String], optionString: String, commandName: String) {
        self.arguments = arguments
        self.commandName = commandName
        var takesValue: [UInt8: Bool] = [:]
        let bytes = Array(optionString.utf8)
        for (position, byte) in bytes.enumerated() where byte != UInt8(ascii: ":") {
            takesValue[byte] = position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: ":")
        }
        self.takesValue = takesValue
    }

    /// The next option, nil when none is left.
    mutating func next(_ console: Console) -> Event? {
        while cluster.isEmpty {
            guard index < arguments.count else { return nil }
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                operands += arguments[index...]
                index = arguments.count
                return nil
            }
            let bytes = Array(argument.utf8)
            if bytes.count > 1 && bytes[0] == UInt8(ascii: "-") {
                cluster = bytes[1...]
            } else if stopAtFirstOperand {
                operands += arguments[(index - 1)...]
                index = arguments.count
                return nil
            } else {
                operands.append(argument)
            }
        }
        let letter = cluster.removeFirst()
        let name = String(decoding: [letter], as: UTF8.self)
        guard letter != UInt8(ascii: ":"), letter != UInt8(ascii: ";"), let needsValue = takesValue[letter] else {
            console.printError("\(commandName): invalid option -- '\(name)'")
            return .error
        }
        guard needsValue else { return .option(Character(name), nil) }
        if !cluster.isEmpty {
            let value = String(decoding: cluster, as: UTF8.self)
            cluster = []
            return .option(Character(name), value)
        }
        guard index < arguments.count else {
            console.printError("\(commandName): option requires an argument -- '\(name)'")
            return .error
        }
        index += 1
        return .option(Character(name), arguments[index - 1])
    }
}
