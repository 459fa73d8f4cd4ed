import VHD

/// `vhd-util modify -n NAME [-p NEW_PARENT [-m]] [-s BYTES] [-z]`: re-parents, moves the footer to
/// `BYTES − 512`, or kills the data. Actions run in the order `-z`, `-s`, `-p`; each one's status
/// replaces the previous one's, as in blktap.
struct ModifyCommand: Subcommand {
    static let name = "modify"
    static let optionString = "n:s:p:mzh"
    static let usage = Usage.modify

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var path: String?
        var newSize: Int64?
        var newParent: String?
        var parentIsRaw = false
        var killData = false
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("n", let value): path = value
            case .option("s", let value?):
                let parsed = CFormat.strtollChecked(value)
                if parsed.overflow {
                    console.printError("Invalid size '\(value)'")
                    return usage(console, status: Errno.invalid)
                }
                newSize = parsed.value
            case .option("p", let value): newParent = value
            case .option("m", _): parentIsRaw = true
            case .option("z", _): killData = true
            default: return usage(console, status: Errno.invalid)
            }
        }
        guard let path, getopt.operands.isEmpty else { return usage(console, status: Errno.invalid) }
        if let error = WritableAccess.openError(path) {
            console.log(error)
            console.print("error opening \(path): -\(error.errno)")
            return error.errno
        }
        var status: Int32 = 0
        if killData {
            status = zero(path, console)
            if status != 0 { console.print("failed to zero VHD: -\(status)") }
        }
        if let newSize {
            status = setPhysicalSize(path, newSize, console)
            if status != 0 {
                console.print("failed to set physical size to \(UInt64(bitPattern: newSize)): -\(status)")
            }
        }
        if let newParent {
            console.failurePoint("REPARENT_BEGIN")
            do {
                try Modify.setParent(path: path, newParent: newParent, parentIsRaw: parentIsRaw)
                status = 0
            } catch {
                console.log(error)
                console.print("failed to set parent to '\(newParent)': -\(error.errno)")
                return error.errno
            }
            console.failurePoint("REPARENT_END")
        }
        return status
    }

    /// `-z`: only dynamic and differencing disks (blktap: ENOSYS otherwise).
    static func zero(_ path: String, _ console: Console) -> Int32 {
        guard let image = try? Image.open(path: path, options: .libvhd()).libvhd, image.isDynamic else { return Errno.notImplemented }
        do {
            try Modify.killData(path: path)
            return 0
        } catch {
            console.log(error)
            return error.errno
        }
    }

    /// `-s`: blktap compares signed sizes, so a negative size is simply too small.
    static func setPhysicalSize(_ path: String, _ size: Int64, _ console: Console) -> Int32 {
        guard size >= 0 else { return Errno.invalid }
        do {
            try Modify.setPhysicalSize(path: path, bytes: UInt64(size))
            return 0
        } catch {
            console.log(error)
            return error.errno
        }
    }
}
