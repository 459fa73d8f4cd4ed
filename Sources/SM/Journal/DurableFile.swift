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

    /// The file's bytes, or nil when it does not exist; over `limit` bytes, its size only.
    ///
    /// The file is opened without blocking and must be a regular file (a FIFO or device in a
    /// record's place is refused, never waited on); its size is checked before anything is
    /// allocated, and no more than `limit + 1` bytes are read even if it grows meanwhile.
    /// The corresponding C functions are `open`, `fstat` and `read`.
    static func read(_ path: String, limit: Int, code: SRErrorCode? = nil) throws(SRError) -> BoundedRead? {
        var descriptor: Int32 = -1
        repeat {
            descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        } while descriptor == -1 && errno == EINTR
        if descriptor == -1 {
            let failure = errno
            if failure == ENOENT { return nil }
            throw SystemCall.error("open", path: path, errno: failure, code: code)
        }
        defer { SystemCall.close(descriptor) }
        var status = stat()
        _ = try SystemCall.retrying("fstat", path: path, code: code) { fstat(descriptor, &status) }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw SRError(code ?? .smGeneral, opterr: "\(path) is not a regular file")
        }
        if status.st_size > limit { return .oversized(size: UInt64(status.st_size), limit: limit) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(status.st_size))
        var chunk = [UInt8](repeating: 0, count: min(1 << 16, limit + 1))
        while true {
            let wanted = min(chunk.count, limit + 1 - bytes.count)
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, wanted) }
            if count > 0 {
                bytes.append(contentsOf: chunk[0..<count])
                if bytes.count > limit { return .oversized(size: UInt64(bytes.count), limit: limit) }
            } else if count == 0 {
                return .bytes(bytes)
            } else if errno != EINTR {
                throw SystemCall.error("read", path: path, errno: errno, code: code)
            }
        }
    }

    /// The file's bytes, or nil when it does not exist; a file over `limit` bytes is an error.
    public static func readBytes(_ path: String, limit: Int, code: SRErrorCode? = nil) throws(SRError) -> [UInt8]? {
        try read(path, limit: limit, code: code)?.bytes(of: path, code: code ?? .smGeneral)
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

    /// Removes the temporary files earlier `replace` calls on `path` left behind when their
    /// process died (its pid, in the name, no longer runs). Callers that hold the lock for
    /// `path` call it before they replace the file, so interrupted writes do not pile up.
    static func removeStaleTemporaries(of path: String) {
        let directory = parent(of: path)
        let prefix = String(path.split(separator: "/").last ?? "") + temporaryMarker
        guard let names = (try? SystemCall.directoryEntries(directory)) ?? nil else { return }
        for name in names where name.hasPrefix(prefix) {
            let pid = name.dropFirst(prefix.count).prefix { $0 != "-" }
            guard let number = Int32(pid), number != getpid(), kill(number, 0) == -1, errno == ESRCH else { continue }
            unlink(directory + "/" + name)
        }
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
    public static func parent(of path: String) -> String {
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
