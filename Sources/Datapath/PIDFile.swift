import Foundation

/// A daemon's pidfile: the process id in decimal and a newline, and whether it names a live
/// process.
public struct PIDFile: Sendable, Equatable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Writes `pid` atomically (a temporary file renamed over the path), so a reader never
    /// sees a half-written file; the file is mode 0600 whatever the umask (the `fchmod` covers
    /// a temporary file left, with another mode, by a writer that died).
    public func write(_ pid: pid_t = getpid()) throws(DatapathError) {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .system(call: "open", errno: errno, path: temporary) }
        guard fchmod(descriptor, 0o600) == 0 else {
            let chmodErrno = errno
            close(descriptor)
            unlink(temporary)
            throw .system(call: "fchmod", errno: chmodErrno, path: temporary)
        }
        let bytes = Array("\(pid)\n".utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        let writeErrno = errno
        close(descriptor)
        guard written == bytes.count else {
            unlink(temporary)
            throw .system(call: "write", errno: written < 0 ? writeErrno : EIO, path: temporary)
        }
        guard rename(temporary, path) == 0 else {
            let renameErrno = errno
            unlink(temporary)
            throw .system(call: "rename", errno: renameErrno, path: path)
        }
    }

    /// The process id in the file; nil when the file is missing or does not hold one.
    public func read() -> pid_t? {
        guard let bytes = SmallFile.read(path, limit: 64) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = pid_t(text), pid > 0 else { return nil }
        return pid
    }

    /// Removes the file; a missing file is fine.
    public func remove() {
        unlink(path)
    }

    /// The process id in the file when that process is alive, else nil.
    public func livePID() -> pid_t? {
        guard let pid = read(), Self.isAlive(pid) else { return nil }
        return pid
    }

    /// Whether process `pid` exists and is not a zombie (one that exited but was not reaped
    /// still answers `kill(pid, 0)`). The corresponding C function is `kill`.
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        // /proc/PID/stat: "PID (COMM) STATE ..."; COMM may hold spaces and parentheses, so the
        // state is the first field after the last ')'.
        guard let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
            let close = stat.lastIndex(of: UInt8(ascii: ")")), close + 2 < stat.count
        else { return true }
        return stat[close + 2] != UInt8(ascii: "Z")
    }
}
