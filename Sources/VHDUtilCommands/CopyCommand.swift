import BlockIO
import Glibc
import VHD
import VHDFormat

/// `vhd-util copy -n SRC -N DST`: a new dynamic VHD holding SRC's allocated blocks, read through
/// its chain. Encrypting the copy (`-k`, `-E`) needs blktap's crypto library and is not supported.
struct CopyCommand: Subcommand {
    static let name = "copy"
    static let optionString = "n:N:k:Eh"
    static let usage = Usage.copy

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var source: String?
        var target: String?
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("n", let value): source = value
            case .option("N", let value): target = value
            case .option("k", _), .option("E", _):
                console.printError("copy: encrypted copies need blktap's crypto library, which is not supported")
                return Errno.notImplemented
            default: return usage(console, status: Errno.invalid)
            }
        }
        guard let source, let target else {
            console.printError("Must supply both existing and new VHD names")
            return usage(console, status: Errno.invalid)
        }
        return copy(source, to: target, console)
    }

    static func copy(_ source: String, to target: String, _ console: Console) -> Int32 {
        let image: Image.Libvhd
        do { image = try Image.open(path: source, options: .libvhd(ignoreDisabled: false)).libvhd } catch {
            console.print("error opening \(source): -\(error.errno)")
            return error.errno
        }
        if access(target, F_OK) == 0 {
            console.print("VHD file \(target) already exists, chose a different name")
            return Errno.invalid
        }
        // blktap creates the copy with the source's type; only a dynamic disk can be created
        // that way (a differencing one needs a parent, a fixed one no BAT).
        guard image.footer.diskTypeValue == DiskType.dynamic.rawValue else {
            console.print("error creating \(target): -\(Errno.invalid)")
            return Errno.invalid
        }
        let size = CreateCommand.roundToBlocks(image.footer.currentSize)
        let copy: Image
        do {
            let store = try FileBlockStore.create(path: target, mode: .exclusive)
            copy = try Create.image(on: store, name: target, options: .init(virtualSize: size, preallocatedSize: size))
        } catch let error as VHDError {
            console.print("error creating \(target): -\(error.errno)")
            return error.errno
        } catch let error as BlockIOError {
            console.print("error creating \(target): -\(error.errno)")
            return error.errno
        } catch {
            return Errno.io
        }
        return copyBlocks(from: image, into: copy, console)
    }

    static func copyBlocks(from image: Image.Libvhd, into copy: Image, _ console: Console) -> Int32 {
        let blockSize = image.sectorsPerBlock * 512
        var block = 0
        do {
            let bat = try image.bat()
            let leaf = try Image.open(store: try FileBlockStore(path: image.path, readOnly: true), name: image.path)
            let chain = try Chain.open(leaf: leaf, resolver: FileParentResolver())
            var buffer = [UInt8](repeating: 0, count: Int(blockSize))
            for (index, entry) in bat.enumerated() where entry != BlockAllocationTable.unused {
                block = index
                let start = UInt64(index) * blockSize
                guard start + blockSize <= image.footer.currentSize else {
                    console.print("Failed to encrypt block \(index): -\(Errno.range)")
                    return Errno.range
                }
                var readError: VHDError?
                buffer.withUnsafeMutableBytes { bytes in
                    do throws(VHDError) { try chain.read(into: bytes, at: start) } catch { readError = error }
                }
                if let readError { throw readError }
                var writeError: VHDError?
                buffer.withUnsafeBytes { bytes in
                    do throws(VHDError) { try copy.write(bytes, at: start) } catch { writeError = error }
                }
                if let error = writeError {
                    console.print("Failed to write block \(index) : -\(error.errno)")
                    console.print("Failed to encrypt block \(index): -\(error.errno)")
                    return error.errno
                }
            }
            try copy.flush()
            return 0
        } catch let error as VHDError {
            console.print("Failed to encrypt block \(block): -\(error.errno)")
            return error.errno
        } catch let error as BlockIOError {
            return error.errno
        } catch {
            return Errno.io
        }
    }
}
