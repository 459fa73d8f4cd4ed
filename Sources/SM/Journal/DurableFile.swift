import Glibc

/// Whole-file reads and crash-safe whole-file replacement, the one way the SM core writes its
/// small records (intents, SR metadata, refcounts).
///
/// `replace` writes a temporary file in the same directory, `fsync`s it, `rename`s it over the
/// target and `fsync`s the directory, so after a crash the target holds either the old or the
/// new bytes, never a mix, and a completed call survives power loss. Temporary names are
/// `<name>.tmp-<pid>-<random>`: a crash can leave one behind, never in place of the target.
/// Files are owner-only (0600) whatever the umask: records name VDIs and their secrets' keys.
public enum DurableFile {
    /// The marker in temporary names; a name containing it is never a record.
    static let temporaryMarker = ".tmp-"

    /// The file's bytes, or nil when it does not exist.
    /// The corresponding C functions are `open` and `read`.
    static func read(_ path: String, code: SRErrorCode? = nil) throws(SRError) -> [UInt8]? {
        var descriptor: Int32 = -1
        repeat { descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC) } while descriptor == -1 && errno == EINTR
        if descriptor == -1 {
            let failure = errno
            if failure == ENOENT { return nil }
            throw SystemCall.error("open", path: path, errno: failure, code: code)
        }
        defer { SystemCall.close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                return bytes
            } else if errno != EINTR {
                throw SystemCall.error("read", path: path, errno: errno, code: code)
            }
        }
    }

    /// Replaces `path`'s content with `bytes`, atomically and durably (see the type's summary).
    /// The corresponding C functions are `open`, `write`, `fsync`, `rename` and `fsync` on the
    /// directory.
    public static func replace(
        _ path: String, with bytes: [UInt8], permissions: mode_t = 0o600, code: SRErrorCode? = nil
    )
        throws(SRError)
    {
        let temporary = "\(path)\(temporaryMarker)\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = try SystemCall.open(
            temporary, flags: O_WRONLY | O_CREAT | O_EXCL, permissions: permissions, code: code)
        do {
            try writeAll(descriptor, bytes, path: temporary, code: code)
            _ = try SystemCall.retrying("fsync", path: temporary, code: code) { fsync(descriptor) }
            SystemCall.close(descriptor)
            _ = try SystemCall.retrying("rename", path: path, code: code) { rename(temporary, path) }
        } catch {
            SystemCall.close(descriptor)
            unlink(temporary)
            throw error
        }
        try syncDirectory(containing: path, code: code)
    }

    /// Removes `path` and makes the removal durable; returns false when it did not exist.
    /// The corresponding C functions are `unlink` and `fsync` on the directory.
    @discardableResult
    static func remove(_ path: String, code: SRErrorCode? = nil) throws(SRError) -> Bool {
        if unlink(path) != 0 {
            let failure = errno
            if failure == ENOENT { return false }
            throw SystemCall.error("unlink", path: path, errno: failure, code: code)
        }
        try syncDirectory(containing: path, code: code)
        return true
    }

    /// `fsync`s the directory that holds `path`, so a rename or unlink in it is durable.
    static func syncDirectory(containing path: String, code: SRErrorCode? = nil) throws(SRError) {
        try syncDirectory(parent(of: path), code: code)
    }

    /// `fsync`s directory `path`. The corresponding C functions are `open` and `fsync`.
    static func syncDirectory(_ path: String, code: SRErrorCode? = nil) throws(SRError) {
        let descriptor = try SystemCall.open(path, flags: O_RDONLY | O_DIRECTORY, code: code)
        defer { SystemCall.close(descriptor) }
        _ = try SystemCall.retrying("fsync", path: path, code: code) { fsync(descriptor) }
    }

    /// The directory part of `path` (`.` for a bare name).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func writeAll(
        _ descriptor: Int32, _ bytes: [UInt8], path: String, code: SRErrorCode?
    )
        throws(SRError)
    {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                Glibc.write(descriptor, buffer.baseAddress.map { $0 + done }, buffer.count - done)
            }
            if count >= 0 {
                done += count
            } else if errno != EINTR {
                throw SystemCall.error("write", path: path, errno: errno, code: code)
            }
        }
    }
}
