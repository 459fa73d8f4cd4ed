/// SplitMix64: a small deterministic generator, so a printed seed reproduces a run's choices.
struct SeededRandom: RandomNumberGenerator {
    private(set) var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` bytes of the pattern `seed` names: a different byte stream for every seed, so a
    /// block read from the wrong place, the wrong disk or the wrong generation shows.
    static func pattern(seed: UInt64, count: Int) -> [UInt8] {
        var generator = SeededRandom(seed: seed)
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { buffer in
            var index = 0
            while index < count {
                var word = generator.next().littleEndian
                let length = min(8, count - index)
                withUnsafeBytes(of: &word) { source in
                    UnsafeMutableRawBufferPointer(rebasing: buffer[index..<index + length])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<length]))
                }
                index += length
            }
        }
        return bytes
    }

    /// A seed from the environment variable `name` (decimal or 0x-prefixed hex), else a fresh one.
    static func seed(fromEnvironment name: String, _ environment: [String: String]) -> UInt64 {
        if let text = environment[name] {
            let parsed = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
            if let parsed { return parsed }
        }
        return UInt64.random(in: 0...UInt64.max)
    }
}
