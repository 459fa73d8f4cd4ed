import Glibc

/// The C library's formatting, where blktap's output depends on its exact behaviour.
enum CFormat {
    /// `snprintf` with a format of floating-point conversions (`"%.2f"`, `"\r%6.2f%%"`).
    /// The corresponding C function is `vsnprintf`.
    static func format(_ format: String, _ arguments: Double...) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        let count = withVaList(arguments) { list in vsnprintf(&buffer, buffer.count, format, list) }
        guard count >= 0 else { return "" }
        return String(
            decoding: buffer.prefix(min(Int(count), buffer.count - 1)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// blktap's `vhd_time_to_string`: `ctime_r` of a VHD timestamp (seconds since 2000-01-01)
    /// in local time, without the trailing newline, e.g. `Sat Nov 21 15:48:04 2026`.
    /// The corresponding C function is `ctime_r`.
    static func ctime(_ vhdSeconds: UInt32) -> String {
        var time = time_t(Int64(vhdSeconds) + 946_684_800)
        var buffer = [CChar](repeating: 0, count: 64)
        guard ctime_r(&time, &buffer) != nil else { return "" }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }

    /// `%#llx` as blktap's `read` prints numbers in hex: `0x200`, but `0` for zero.
    static func alternateHex(_ value: UInt64) -> String {
        value == 0 ? "0" : "0x" + String(value, radix: 16)
    }

    /// `%02x` of each byte.
    static func hexBytes(_ bytes: [UInt8]) -> String {
        bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    /// POSIX `basename(3)` (libgen): the last component, trailing slashes ignored; `.` for an
    /// empty path and `/` for the root.
    static func basename(_ path: String) -> String {
        if path.isEmpty { return "." }
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if trimmed == "/" { return "/" }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// `strtoull(text, NULL, 10)`: leading blanks and a sign allowed, digits up to the first
    /// other character, 0 when there are none, saturating on overflow, a minus sign negating
    /// (modulo 2^64).
    static func strtoull(_ text: String) -> UInt64 {
        text.withCString { Glibc.strtoull($0, nil, 10) }
    }

    /// `strtol(text, NULL, 10)`.
    static func strtol(_ text: String) -> Int {
        text.withCString { Glibc.strtol($0, nil, 10) }
    }

    /// `strtoll(text, NULL, 10)` and whether it overflowed (`errno == ERANGE`).
    static func strtollChecked(_ text: String) -> (value: Int64, overflow: Bool) {
        errno = 0
        let value = text.withCString { Glibc.strtoll($0, nil, 10) }
        return (Int64(value), errno == ERANGE)
    }
}
