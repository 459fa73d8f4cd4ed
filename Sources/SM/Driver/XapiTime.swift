import Glibc

/// xapi's timestamp text, as in `snapshot_time`: `yyyyMMddTHH:mm:ssZ` in UTC
/// (`19700101T00:00:00Z` for "never").
public enum XapiTime {
    /// The current time.
    public static func now() -> String { format(time(nil)) }

    /// `seconds` since the epoch, formatted.
    public static func format(_ seconds: time_t) -> String {
        var value = seconds
        var parts = tm()
        gmtime_r(&value, &parts)
        func two(_ number: Int32) -> String { number < 10 ? "0\(number)" : "\(number)" }
        let year = String(parts.tm_year + 1900)
        return
            "\(year)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
