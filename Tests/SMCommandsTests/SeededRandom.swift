import TestSupport

/// The kill loop's and the full-disk sweep's generator, with their data patterns and seeds.
typealias SeededRandom = SplitMix64

extension SplitMix64 {
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
