import Glibc

/// The owner and mode rules that keep this host's SM state (locks, reference counts, mount
/// points, the registry, datapath sockets) out of other local users' reach.
///
/// A directory SM did not just create may have been made by someone else, for instance a
/// `/tmp/swift-sm-<uid>` another user created before this one's first `sm`: whoever owns or
/// can write a state directory can plant records, locks and sockets in it, or read VDIs
/// through it. So every existing state directory is checked before use, and refused with an
/// error naming its path, owner and mode.
public enum StateDirectory {
    /// Refuses an existing `path` that is not a directory (a symbolic link included) owned by
    /// the effective user and writable by no one else; a missing `path` is fine (SM creates it
    /// 0700 when it needs it).
    ///
    /// - Throws: `SRError(code)` naming the path, its owner and its mode.
    public static func check(_ path: String, role: String, code: SRErrorCode = .smGeneral) throws(SRError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let failure = errno
            if failure == ENOENT { return }
            throw SystemCall.error("lstat", path: path, errno: failure, code: code)
        }
        let user = geteuid()
        let problem: String?
        if info.st_mode & S_IFMT != S_IFDIR {
            problem = info.st_mode & S_IFMT == S_IFLNK ? "is a symbolic link" : "is not a directory"
        } else if info.st_uid != user {
            problem = "is owned by another user"
        } else if info.st_mode & (S_IWGRP | S_IWOTH) != 0 {
            problem = "is writable by group or others"
        } else {
            problem = nil
        }
        guard let problem else { return }
        throw refusal(path, role: role, problem: problem, info: info, code: code)
    }

    /// Refuses an existing directory on the way to a state directory that another user could
    /// replace or fill: one owned by neither root nor the effective user, or owned by a
    /// non-root effective user and writable by group or others. A symbolic link is judged by
    /// its owner and then by its target. Root's directories are trusted as they are (a
    /// distribution's `/run/lock` may be group-writable).
    ///
    /// - Throws: `SRError(code)` naming the path, its owner and its mode.
    static func checkExisting(_ path: String, code: SRErrorCode) throws(SRError) {
        var info = stat()
        _ = try SystemCall.retrying("lstat", path: path, code: code) { lstat(path, &info) }
        if info.st_mode & S_IFMT == S_IFLNK {
            try checkTrustedOwner(path, info: info, code: code)
            _ = try SystemCall.retrying("stat", path: path, code: code) { stat(path, &info) }
        }
        try checkTrustedOwner(path, info: info, code: code)
        if info.st_uid != 0, info.st_mode & (S_IWGRP | S_IWOTH) != 0, info.st_mode & S_IFMT == S_IFDIR {
            throw refusal(path, role: "directory", problem: "is writable by group or others", info: info, code: code)
        }
    }

    private static func checkTrustedOwner(_ path: String, info: stat, code: SRErrorCode) throws(SRError) {
        guard info.st_uid != 0, info.st_uid != geteuid() else { return }
        throw refusal(path, role: "directory", problem: "is owned by another user", info: info, code: code)
    }

    /// "state directory /tmp/swift-sm-0 is owned by another user: owner uid 65534 (nobody),
    /// mode 0755; it must be a directory owned by uid 0 (root) that only its owner can write".
    static func refusal(_ path: String, role: String, problem: String, info: stat, code: SRErrorCode) -> SRError {
        let mode = String(info.st_mode & 0o7777, radix: 8)
        let padded = String(repeating: "0", count: max(0, 4 - mode.count)) + mode
        let text =
            "\(role) \(path) \(problem): owner \(describe(uid: info.st_uid)), mode \(padded); "
            + "it must be a directory owned by \(describe(uid: geteuid())) that only its owner can write"
        return SRError(code, opterr: text)
    }

    /// `uid 65534 (nobody)`, or `uid 1234` when the user database does not know it.
    static func describe(uid: uid_t) -> String {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &found) == 0, found != nil, let name = entry.pw_name
        else { return "uid \(uid)" }
        return "uid \(uid) (\(String(cString: name)))"
    }
}
