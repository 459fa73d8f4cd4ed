/// Python's `repr(float)`, which `xmlrpc.client` writes inside `<double>`.
///
/// Both Python and Swift print the shortest digit string that reads back to the same double;
/// they differ only in layout. Python (`float_repr_style = 'short'`, format code `r`) writes
/// digits `d₁d₂…dₙ` with decimal point position `p` in plain notation when `-4 < p <= 16`
/// (`0.0001`, `1000000000000000.0`) and otherwise as `d₁.d₂…e±XX` with at least two exponent
/// digits (`1e-05`, `1e+16`); `inf`, `-inf`, `nan` for the rest.
enum PythonFloat {
    static func repr(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        let sign = value.sign == .minus ? "-" : ""
        if value == 0 { return sign + "0.0" }
        let (digits, point) = shortestDigits(value.magnitude)
        if point <= -4 || point > 16 {
            let exponent = point - 1
            let mantissa = digits.count == 1 ? digits : String(digits.prefix(1)) + "." + String(digits.dropFirst())
            let exponentDigits = String(abs(exponent))
            let padded = exponentDigits.count < 2 ? "0" + exponentDigits : exponentDigits
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + padded
        }
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
        if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) + ".0" }
        let split = digits.index(digits.startIndex, offsetBy: point)
        return sign + String(digits[..<split]) + "." + String(digits[split...])
    }

    /// The shortest round-trip digits of a finite positive `value` (no leading or trailing
    /// zeros) and the decimal point's position: value = 0.d₁d₂… × 10^point.
    private static func shortestDigits(_ value: Double) -> (digits: String, point: Int) {
        let text = value.description
        let parts = text.split(separator: "e", maxSplits: 1)
        let mantissa = parts[0]
        let exponent = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let integerLength =
            mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) }
            ?? mantissa.count
        var digits = Substring(mantissa.filter { $0 != "." })
        var point = integerLength + exponent
        while digits.first == "0" {
            digits = digits.dropFirst()
            point -= 1
        }
        while digits.last == "0" { digits = digits.dropLast() }
        return (String(digits), point)
    }
}
