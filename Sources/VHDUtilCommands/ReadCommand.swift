import BlockIO
import VHD
import VHDFormat

/// `vhd-util read -n NAME [-p] [-t SEC] [-b BLK] [-B] [-m BLK] [-i SEC] [-e SEC] [-a] [-j BLK]
/// [-d BLK] [-r SEC] [-R BYTE] [-c COUNT] [-x] [-C]`: the image's metadata and data, raw.
///
/// Actions run in that fixed order whatever the order of the flags; the first failing one ends
/// the run. Binary output bypasses the text buffering, as blktap's raw `write(2)` does.
struct ReadCommand: Subcommand {
    static let name = "read"
    static let optionString = "n:pt:b:Bm:i:e:aj:d:c:r:R:xCh"
    static let usage = Usage.read
    static let supportsJSON = true

    var path: String?
    var headers = false
    var hex = false
    var cached = false
    var batBitmap = false
    var translateSector: UInt64?
    var batEntry: UInt64?
    var bitmap: UInt64?
    var testBitmap: UInt64?
    var extents: UInt64?
    var batmap = false
    var testBatmap: UInt64?
    var data: UInt64?
    var readSectors: UInt64?
    var readBytes: UInt64?
    /// `-c`, an `int` in blktap (the `strtoul` value truncated).
    var count: Int32 = 1

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var read = ReadCommand()
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            guard case .option(let letter, let value) = event else { return usage(console, status: Errno.invalid) }
            // blktap keeps -1 as "not given", so an argument parsing to 2^64-1 is ignored.
            let number = value.map(CFormat.strtoull).flatMap { $0 == .max ? nil : $0 }
            switch letter {
            case "n": read.path = value
            case "p": read.headers = true
            case "C": read.cached = true
            case "B": read.batBitmap = true
            case "t": read.translateSector = number
            case "b": read.batEntry = number
            case "m": read.bitmap = number
            case "i": read.testBitmap = number
            case "e": read.extents = number
            case "a": read.batmap = true
            case "j": read.testBatmap = number
            case "d": read.data = number
            case "r": read.readSectors = number
            case "R": read.readBytes = number
            case "c": read.count = Int32(truncatingIfNeeded: value.map(CFormat.strtoull) ?? 1)
            case "x": read.hex = true
            default: return usage(console, status: Errno.invalid)
            }
        }
        guard let path = read.path, getopt.operands.isEmpty else { return usage(console, status: Errno.invalid) }
        return read.run(path: path, console)
    }

    func run(path: String, _ console: Console) -> Int32 {
        let image: Image.Libvhd
        do { image = try Image.open(path: path, options: .libvhd(fast: cached)).libvhd } catch {
            console.log(error)
            console.print("Failed to open \(path): -\(error.errno)")
            Self.dumpRawHeaders(path: path, hex: hex, console)
            return error.errno
        }
        let bat: [UInt32]
        do { bat = try image.bat() } catch {
            console.print("Failed to get bat for \(path): -\(error.errno)")
            return error.errno
        }
        if headers {
            let dump = HeaderDump(image)
            if console.json {
                console.print(dump.json.rendered)
            } else {
                console.out.write(bytes: dump.render(hex: hex))
            }
        }
        let actions = Actions(image: image, bat: bat, hex: hex, count: count, console: console)
        let steps: [() -> Int32?] = [
            { translateSector.map { actions.translate(sector: $0) } },
            { batEntry.map { actions.printBAT(block: $0) } },
            { batBitmap ? actions.printBATBitmap() : nil },
            { bitmap.map { actions.printBitmap(block: $0) } },
            { testBitmap.map { actions.testBitmap(sector: $0) } },
            { extents.map { actions.printExtents(sector: $0) } },
            { batmap ? actions.printBatmap() : nil },
            { testBatmap.map { actions.testBatmap(block: $0) } },
            { data.map { actions.printData(block: $0) } },
            { readSectors.map { actions.readSectors(at: $0) } },
            { readBytes.map { actions.readBytes(at: $0) } },
        ]
        for step in steps {
            if let status = step(), status != 0 { return status }
        }
        return 0
    }

    /// blktap's `vhd_dump_headers`, after an open failure: a banner, then the footer and header
    /// as found on disk, unvalidated.
    static func dumpRawHeaders(path: String, hex: Bool, _ console: Console) {
        console.out.write("\n\(path) appears invalid; dumping headers\n\n")
        guard let (footer, header) = Image.unvalidatedHeaders(path: path) else { return }
        console.out.write(bytes: HeaderDump(footer: footer, rawHeader: header).render(hex: hex))
    }
}
