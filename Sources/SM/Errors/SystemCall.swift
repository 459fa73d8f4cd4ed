import Glibc

/// The SM core's few POSIX calls, each retried on `EINTR` and turned into an `SRError` that
/// names the call, the path and the errno.
public enum SystemCall {
    /// The `SRError` for a failed `call` on `path`: `code` when given, else by errno
    /// (`ENOSPC`/`EDQUOT` → `SRNoSpace`, `EROFS` → `SharedFileSystemNoWrite`, else `EIO`).
    static func error(_ call: String, path: String, errno: Int32, code: SRErrorCode? = nil) -> SRError {
        let chosen: SRErrorCode
        if let code {
            chosen = code
        } else if SRError.isNoSpace(errno) {
            chosen = .srNoSpace
        } else if errno == EROFS {
            chosen = .sharedFileSystemNoWrite
        } else {
            chosen = .eio
        }
        return SRError(chosen, opterr: "\(call) \(path): \(errorText(errno))", cause: "errno \(errno)")
    }

    /// `strerror(errno)`, for messages.
    static func errorText(_ errno: Int32) -> String {
        guard let text = strerror(errno) else { return "errno \(errno)" }
        return String(cString: text)
    }

    /// Runs `body` (a C call returning -1 and setting errno on failure) until it does not fail
    /// with `EINTR`; returns its result.
    static func retrying(
        _ call: String, path: String, code: SRErrorCode? = nil, _ body: () -> Int32
    ) throws(SRError) -> Int32 {
        while true {
            let result = body()
            if result != -1 { return result }
            let failure = errno
            if failure != EINTR { throw error(call, path: path, errno: failure, code: code) }
        }
    }

    /// Opens `path`, close-on-exec. With `O_CREAT`, a regular file this user owns ends up with
    /// exactly `permissions` (owner-only by default), whatever the umask and whatever mode an
    /// earlier file at `path` had. The corresponding C functions are `open` and `fchmod`.
    static func open(
        _ path: String, flags: Int32, permissions: mode_t = 0o600, code: SRErrorCode? = nil
    ) throws(SRError) -> Int32 {
        let descriptor = try retrying("open", path: path, code: code) {
            Glibc.open(path, flags | O_CLOEXEC, permissions)
        }
        guard flags & O_CREAT != 0 else { return descriptor }
        do { try restrictMode(descriptor, to: permissions, path: path, code: code) } catch {
            close(descriptor)
            throw error
        }
        return descriptor
    }

    /// Sets an open regular file this user owns to exactly `permissions`. `open` creates with
    /// `permissions` minus the umask, never more, so no one else can open the file between its
    /// creation and this call; a device, or another user's file an output was sent to, is left
    /// alone. The corresponding C functions are `fstat` and `fchmod`.
    static func restrictMode(_ descriptor: Int32, to permissions: mode_t, path: String, code: SRErrorCode? = nil)
        throws(SRError)
    {
        var info = stat()
        _ = try retrying("fstat", path: path, code: code) { fstat(descriptor, &info) }
        guard info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(), info.st_mode & 0o7777 != permissions
        else { return }
        _ = try retrying("fchmod", path: path, code: code) { fchmod(descriptor, permissions) }
    }

    /// Closes `descriptor`, ignoring errors (Linux releases the descriptor even when `close`
    /// fails). The corresponding C function is `close`.
    static func close(_ descriptor: Int32) {
        _ = Glibc.close(descriptor)
    }

    /// Creates `path` and any missing parents, each with exactly `permissions` (owner-only by
    /// default) whatever the umask. An existing directory on the way must be one another user
    /// cannot replace or fill (`StateDirectory.checkExisting`), or the call is refused.
    /// The corresponding C functions are `mkdir` and `chmod`.
    public static func makeDirectories(
        _ path: String, permissions: mode_t = 0o700, code: SRErrorCode? = nil
    ) throws(SRError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            if Glibc.mkdir(prefix, permissions) == 0 {
                // mkdir applied the umask, which only ever removes bits: no window in which
                // anyone else could use the new directory.
                _ = try retrying("chmod", path: prefix, code: code) { chmod(prefix, permissions) }
                continue
            }
            let failure = errno
            guard failure == EEXIST, isDirectory(prefix) else {
                throw error("mkdir", path: prefix, errno: failure, code: code)
            }
            try StateDirectory.checkExisting(prefix, code: code ?? .smGeneral)
        }
    }

    /// Whether `path` names a directory (following symbolic links).
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names in directory `path` other than `.` and `..`, or nil when it does not exist.
    /// The corresponding C functions are `opendir`, `readdir` and `closedir`.
    public static func directoryEntries(_ path: String, code: SRErrorCode? = nil) throws(SRError) -> [String]? {
        guard let directory = opendir(path) else {
            let failure = errno
            if failure == ENOENT { return nil }
            throw error("opendir", path: path, errno: failure, code: code)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: pointer.pointee)) {
                    String(cString: $0)
                }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Sleeps for `duration` (at least a microsecond). The corresponding C function is `nanosleep`.
    static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(max(seconds, 0)), tv_nsec: Int(max(attoseconds / 1_000_000_000, 1000)))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }
}
