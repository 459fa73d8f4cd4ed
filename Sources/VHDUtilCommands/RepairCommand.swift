import VHD

/// `vhd-util repair -n NAME [-b]`: rewrites both footers from the primary (or, with `-b`, the
/// copy at offset 0), giving a null UUID a fresh one.
struct RepairCommand: Subcommand {
    static let name = "repair"
    static let optionString = "n:bh"
    static let usage = Usage.repair

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var path: String?
        var useBackup = false
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("n", let value): path = value
            case .option("b", _): useBackup = true
            default: return usage(console, status: Errno.invalid)
            }
        }
        guard let path, getopt.operands.isEmpty else { return usage(console, status: Errno.invalid) }
        if let error = WritableAccess.openError(path, useBackupFooter: useBackup) {
            console.log(error)
            console.print("error opening \(path): -\(error.errno)")
            return error.errno
        }
        do {
            try Repair.file(path: path, useBackupFooter: useBackup)
            return 0
        } catch {
            console.log(error)
            console.print("error writing footer: -\(error.errno)")
            return error.errno
        }
    }
}
