import BlockIO
import Glibc
import VHD
import VHDFormat

/// `vhd-util create -n NAME -s MiB [-r] [-S MiB]`: a new dynamic (or, with `-r`, fixed) disk,
/// its size rounded up to 2 MiB; `-S` sizes the BAT for a later fast resize.
struct CreateCommand: Subcommand {
    static let name = "create"
    static let optionString = "n:s:S:rh"
    static let usage = Usage.create

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var path: String?
        var size: UInt64 = 0
        var metadataSize: UInt64 = 0
        var fixed = false
        var sizeGiven = false
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("n", let value): path = value
            case .option("s", let value?):
                sizeGiven = true
                size = CFormat.strtoull(value)
            case .option("S", let value?):
                sizeGiven = true
                metadataSize = CFormat.strtoull(value)
            case .option("r", _): fixed = true
            default: return usage(console, status: Errno.invalid)
            }
        }
        guard sizeGiven, let path, getopt.operands.isEmpty else { return usage(console, status: Errno.invalid) }
        if metadataSize != 0 && metadataSize < size {
            console.print("Error: <-S size> must be greater than <-s size>")
            return Errno.invalid
        }
        return create(path: path, bytes: size &<< 20, metadataBytes: metadataSize &<< 20, fixed: fixed, console)
    }

    /// blktap's `vhd_create`: sizes rounded up to whole 2 MiB blocks; a failure after the file
    /// was created removes it.
    static func create(path: String, bytes: UInt64, metadataBytes: UInt64, fixed: Bool, _ console: Console) -> Int32 {
        if path.utf8.count >= 1023 { return Errno.nameTooLong }
        // A fixed disk has no BAT to preallocate: blktap fails setting its size back.
        if fixed && metadataBytes != 0 && bytes != 0 { return Errno.invalid }
        let store: FileBlockStore
        do { store = try FileBlockStore.create(path: path, mode: .truncate) } catch {
            console.printError("\(path): failed to create: -\(error.errno)")
            return error.errno
        }
        let options = Create.Options(
            virtualSize: roundToBlocks(bytes), diskType: fixed ? .fixed : .dynamic,
            preallocatedSize: metadataBytes == 0 ? nil : roundToBlocks(metadataBytes))
        do {
            _ = try Create.image(on: store, name: path, options: options)
            return 0
        } catch {
            console.log(error)
            if !store.isBlockDevice { unlink(path) }
            return error.errno
        }
    }

    /// Rounds up to whole 2 MiB blocks, as blktap does for every size.
    static func roundToBlocks(_ bytes: UInt64) -> UInt64 {
        ((bytes &+ (2 << 20) - 1) >> 21) << 21
    }
}
