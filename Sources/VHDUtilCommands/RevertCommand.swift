import Glibc
import VHD

/// `vhd-util revert -n NAME -j JOURNAL`: undoes an interrupted journaled resize.
struct RevertCommand: Subcommand {
    static let name = "revert"
    static let optionString = "n:j:h"
    static let usage = Usage.revert

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var path: String?
        var journal: String?
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("n", let value): path = value
            case .option("j", let value): journal = value
            default: return usage(console, status: Errno.invalid)
            }
        }
        guard let path, let journal, getopt.operands.isEmpty else { return usage(console, status: Errno.invalid) }
        for file in [journal, path] {
            var info = stat()
            if stat(file, &info) != 0 {
                let code = errno
                console.print("opening journal failed: -\(code)")
                return code
            }
        }
        // blktap reads (and checks) the whole journal when it opens it, before any write.
        do { try Journal.check(journalPath: journal) } catch {
            console.log(error)
            console.print("opening journal failed: -\(error.errno)")
            return error.errno
        }
        do {
            try Journal.revert(path: path, journalPath: journal)
            return 0
        } catch {
            console.log(error)
            console.print("reverting journal failed: -\(error.errno)")
            return error.errno
        }
    }
}
