import Glibc
import Synchronization

/// The daemon's log: one line per event on standard error, prefixed with a UTC timestamp
/// (milliseconds) and the process id, written whole so threads never interleave.
public enum Log {
    private static let lock = Mutex(())

    /// Writes `message` as one line.
    public static func info(_ message: String) {
        let line = "\(timestamp()) sm-datapathd[\(getpid())]: \(message)\n"
        lock.withLock { _ in
            _ = line.utf8CString.withUnsafeBufferPointer { Glibc.write(2, $0.baseAddress, $0.count - 1) }
        }
    }

    /// `2026-11-21T18:50:00.123Z`. The corresponding C functions are `clock_gettime`, `gmtime_r`, `strftime`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
        let prefix = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let millis = now.tv_nsec / 1_000_000
        return prefix + "." + (millis < 10 ? "00" : millis < 100 ? "0" : "") + "\(millis)Z"
    }
}
