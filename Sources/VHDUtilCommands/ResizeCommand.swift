import Glibc
import VHD

/// `vhd-util resize -n NAME -s MiB (-j JOURNAL | -f)`: grows a dynamic or differencing image,
/// journaled (moving blocks out of the BAT's way) or fast (within a preallocated BAT). Like
/// blktap's, it refuses fixed disks.
struct ResizeCommand: Subcommand {
    static let name = "resize"
    static let optionString = "n:s:j:fh"
    static let usage = Usage.resize

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var path: String?
        var journal: String?
        var fast = false
        var megabytes: UInt64?
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("n", let value): path = value
            case .option("j", let value): journal = value
            case .option("f", _): fast = true
            case .option("s", let value?): megabytes = CFormat.strtoull(value)
            default: return usage(console, status: Errno.invalid)
            }
        }
        guard let path, let megabytes, journal != nil || fast, getopt.operands.isEmpty, !(journal != nil && fast) else {
            return usage(console, status: Errno.invalid)
        }
        let image: Image.Libvhd
        do { image = try Image.open(path: path, options: .libvhd(ignoreDisabled: false)).libvhd } catch {
            console.log(error)
            console.print("error opening \(path): -\(error.errno)")
            return error.errno
        }
        guard image.footer.isTapCreated else {
            console.print("\(path) not created by xen; resize not supported")
            return Errno.invalid
        }
        let bytes = megabytes &<< 20
        if fast { return growFast(image, bytes: bytes, console) }
        return resizeJournaled(image, bytes: bytes, journal: journal ?? "", console)
    }

    /// blktap's `vhd_dynamic_grow_fast`: the size rounded up to 2 MiB, never smaller.
    static func growFast(_ image: Image.Libvhd, bytes: UInt64, _ console: Console) -> Int32 {
        let size = CreateCommand.roundToBlocks(bytes)
        let current = image.footer.currentSize
        if image.isDynamic && size < current {
            console.print("\(image.path): size (\(size)) < curr size (\(current))")
            return Errno.invalid
        }
        if image.isDynamic && size == current { return 0 }
        do {
            try Resize.fast(path: image.path, newSize: size)
            return 0
        } catch {
            console.log(error)
            return error.errno
        }
    }

    static func resizeJournaled(_ image: Image.Libvhd, bytes: UInt64, journal: String, _ console: Console) -> Int32 {
        var info = stat()
        if stat(journal, &info) == 0 && info.st_mode & S_IFMT == S_IFREG {
            console.print("creating journal failed: -\(Errno.exists)")
            return Errno.exists
        }
        // blktap's `vhd_journal_create` fails on a fixed disk (no BAT to journal), whatever the size.
        guard image.isDynamic else {
            console.print("creating journal failed: -\(Errno.invalid)")
            return Errno.invalid
        }
        let current = image.footer.currentSize
        if bytes >> 9 == current >> 9 { return 0 }
        if bytes < current {
            console.print("dynamic shrink not fully implemented")
            console.print("resize failed: -\(Errno.notImplemented)")
            return Errno.notImplemented
        }
        do {
            try Resize.journaled(path: image.path, newSize: bytes, journalPath: journal) { step in
                console.failurePoint(step.rawValue)
            }
            return 0
        } catch {
            console.log(error)
            console.print("resize failed: -\(error.errno)")
            // A resize refused before anything was journaled leaves an empty journal behind.
            var journalInfo = stat()
            if stat(journal, &journalInfo) == 0 && journalInfo.st_size == 0 { unlink(journal) }
            return error.errno
        }
    }
}
