/// `count` bytes that differ from their neighbours and from other seeds, and are never zero,
/// so a misplaced, missing or zeroed byte shows.
func pattern(count: Int, seed: Int = 1) -> [UInt8] {
    (0..<count).map { index in UInt8(truncatingIfNeeded: (index &* 131 &+ seed &* 7919) % 255 + 1) }
}

let kibibyte: UInt64 = 1024
let mebibyte: UInt64 = 1024 * 1024
