import BlockIO
import Glibc
import VHD
import VHDFormat

/// The benchmark's own helper: reads a whole VHD chain (or a raw file, the baseline) with the
/// same loop and buffer, and scribbles seeded writes into a leaf to build test chains.
///
///     vhd-bench read PATH [--raw]            prints bytes and seconds
///     vhd-bench scribble PATH PERCENT SEED   writes 64 KiB runs into PERCENT% of the blocks

func now() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

func fail(_ message: String) -> Never {
    FileHandleOutput.standardError("vhd-bench: \(message)\n")
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else { fail("usage: vhd-bench read PATH [--raw] | scribble PATH PERCENT SEED") }
do {
    switch arguments[1] {
    case "read":
        let store = try FileBlockStore(path: arguments[2], readOnly: true)
        let chunk = 4 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        let start = now()
        var total: UInt64 = 0
        if arguments.count > 3 && arguments[3] == "--raw" {
            while total < store.size {
                let count = Int(min(UInt64(chunk), store.size - total))
                try buffer.withUnsafeMutableBytes { try store.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<count]), at: total) }
                total += UInt64(count)
            }
        } else {
            let chain = try Chain.open(leaf: try Image.open(store: store, name: arguments[2]), resolver: FileParentResolver())
            while total < chain.virtualSize {
                let count = Int(min(UInt64(chunk), chain.virtualSize - total))
                try buffer.withUnsafeMutableBytes { try chain.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<count]), at: total) }
                total += UInt64(count)
            }
        }
        print("\(total) \(now() - start)")
    case "scribble":
        guard arguments.count == 5, let percent = Double(arguments[3]), let seed = UInt64(arguments[4]) else {
            fail("usage: vhd-bench scribble PATH PERCENT SEED")
        }
        let image = try Image.open(store: try FileBlockStore(path: arguments[2]), name: arguments[2], options: .init(writable: true, barriers: false))
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        let blocks = image.usedBlockCount
        let data = (0..<(64 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ Int(seed)) }
        for block in 0..<blocks where Double(next() % 10_000) < percent * 100 {
            let sector = next() % UInt64((2 << 20) - (64 << 10)) / 512
            let offset = UInt64(block) << 21 + sector * 512
            try data.withUnsafeBytes { try image.write($0, at: offset) }
        }
        try image.flush()
    default:
        fail("unknown command \(arguments[1])")
    }
} catch {
    fail("\(error)")
}

/// Writes to standard error without touching C's `stderr` global (not concurrency-safe).
enum FileHandleOutput {
    static func standardError(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
