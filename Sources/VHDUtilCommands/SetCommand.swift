import BlockIO
import VHD

/// `vhd-util set -n NAME -f hidden|marker -v 0..255`: sets blktap's hidden flag or marker byte.
struct SetCommand: Subcommand {
    static let name = "set"
    static let optionString = "n:f:v:h"
    static let usage = Usage.set

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var path: String?
        var field: String?
        var value: Int?
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("n", let text): path = text
            case .option("f", let text): field = text
            case .option("v", let text?): value = CFormat.strtol(text)
            default: return usage(console, status: Errno.invalid)
            }
        }
        guard let path, let field, let value, getopt.operands.isEmpty else {
            return usage(console, status: Errno.invalid)
        }
        if field.utf8.count >= 25 {
            console.print("invalid field")
            return usage(console, status: Errno.invalid)
        }
        guard field == "hidden" || field == "marker" else {
            console.print("invalid field \(field)")
            return usage(console, status: Errno.invalid)
        }
        guard (0...255).contains(value) else {
            console.print("invalid value \(value)")
            return usage(console, status: Errno.invalid)
        }
        if let error = WritableAccess.openError(path) {
            console.log(error)
            console.print("error opening \(path): -\(error.errno)")
            return error.errno
        }
        do {
            if field == "hidden" {
                let store = try FileBlockStore(path: path, readOnly: false)
                let image = try Image.open(store: store, name: path, options: .readWrite)
                try image.updateFooter { $0.hidden = UInt8(value) }
                try image.flush()
            } else {
                try WritableAccess.setMarker(path, UInt8(value))
            }
            return 0
        } catch let error as VHDError {
            console.log(error)
            return error.errno
        } catch let error as BlockIOError {
            console.log(error)
            return error.errno
        } catch {
            return Errno.io
        }
    }
}
