/// Byte counts as people write and read them: `10GiB`, `512MiB`, `1TiB`, `4096`.
public enum ByteSize {
    /// Binary units, largest first.
    static let units: [(suffix: String, shift: UInt64)] = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)]

    /// Parses plain bytes or a whole or decimal number with a binary unit: `KiB`, `MiB`, `GiB`,
    /// `TiB` (case-insensitive; `K`, `M`, `G`, `T` and `B` too). Nil for anything else, for a
    /// fractional byte count, or for a value beyond 64 bits.
    public static func parse(_ text: String) -> UInt64? {
        var number = text.trimmingWhitespace()
        var shift: UInt64 = 0
        let lower = number.lowercased()
        for (suffix, unitShift) in units {
            let spelled = [suffix.lowercased(), String(suffix.lowercased().prefix(1))]
            if let match = spelled.first(where: { lower.hasSuffix($0) }) {
                number = String(number.dropLast(match.count)).trimmingWhitespace()
                shift = unitShift
                break
            }
        }
        if shift == 0, lower.hasSuffix("b") { number = String(number.dropLast()).trimmingWhitespace() }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            number.filter({ $0 == "." }).count <= 1
        else { return nil }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard let whole = UInt64(parts[0].isEmpty ? "0" : String(parts[0])) else { return nil }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: UInt64(1) << shift)
        guard !overflow else { return nil }
        guard parts.count == 2, !parts[1].isEmpty else { return parts.count == 2 ? nil : scaled }
        // A fraction: exact to the byte, or refused.
        let digits = parts[1].prefix(18)
        guard let numerator = UInt64(digits) else { return nil }
        var denominator: UInt64 = 1
        for _ in 0..<digits.count { denominator *= 10 }
        let (product, fractionOverflow) = numerator.multipliedReportingOverflow(by: UInt64(1) << shift)
        guard !fractionOverflow, product % denominator == 0 else { return nil }
        let (total, sumOverflow) = scaled.addingReportingOverflow(product / denominator)
        return sumOverflow ? nil : total
    }

    /// `bytes` in the largest unit that keeps it readable (`10 GiB`, `1.5 MiB`, `512 B`).
    public static func format(_ bytes: UInt64) -> String {
        for (suffix, shift) in units where bytes >= UInt64(1) << shift {
            let value = Double(bytes) / Double(UInt64(1) << shift)
            let rounded = (value * 10).rounded() / 10
            let text = rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
            return "\(text) \(suffix)"
        }
        return "\(bytes) B"
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
