import Glibc

/// Where SM's lock files live and how they are named: `<base>/<namespace>/<name>`, with
/// namespace `nil` spelled `.nil`, as SM's `lock.py` (`/var/lock/sm` by default).
///
/// The well-known locks are the SR lock `<sr_uuid>/sr` (held for SM's `ops_exclusive`
/// commands), the per-VDI lock `<vdi_uuid>/vdi` and the GC's `<sr_uuid>/running` and
/// `<sr_uuid>/gc_active`. Names and namespaces become path components, so each is checked:
/// non-empty, at most 255 bytes, no `/`, no NUL, and neither `.` nor `..`.
public struct LockDirectory: Hashable, Sendable {
    /// SM's `Lock.BASE_DIR`.
    public static let defaultBase = "/var/lock/sm"
    /// The namespace directory of locks created with namespace `nil` (SM's `.nil`).
    public static let nilNamespace = ".nil"

    /// The directory that holds one directory per namespace.
    public let base: String

    /// Lock files under `base` (SM's `/var/lock/sm` when omitted). Trailing slashes and
    /// repeated slashes are dropped, so two spellings of one base share the process's locks.
    public init(base: String = LockDirectory.defaultBase) {
        self.base = LockDirectory.normalised(base)
    }

    /// The lock `<base>/<namespace>/<name>` (namespace nil → `.nil`).
    ///
    /// - Throws: `SRError(.lockErr)` naming the offending component when `name` or
    ///   `namespace` could escape the namespace directory.
    public func lock(_ name: String, namespace: String?) throws(SRError) -> LockFile {
        try Self.validate(name, role: "lock name")
        let directory = try namespaceDirectory(namespace)
        return LockFile(path: "\(directory)/\(name)")
    }

    /// The SR lock `<sr_uuid>/sr` that serialises an SR's exclusive operations.
    public func srLock(srUUID: String) throws(SRError) -> LockFile {
        try lock("sr", namespace: srUUID)
    }

    /// The per-VDI lock `<vdi_uuid>/vdi` (SM's blktap lock) held while a VDI is attached,
    /// activated or paused.
    public func vdiLock(vdiUUID: String) throws(SRError) -> LockFile {
        try lock("vdi", namespace: vdiUUID)
    }

    /// The GC's `<sr_uuid>/running` lock: held while a garbage collector runs on the SR.
    public func gcRunningLock(srUUID: String) throws(SRError) -> LockFile {
        try lock("running", namespace: srUUID)
    }

    /// The GC's `<sr_uuid>/gc_active` lock.
    public func gcActiveLock(srUUID: String) throws(SRError) -> LockFile {
        try lock("gc_active", namespace: srUUID)
    }

    /// Removes one lock file (SM's `Lock.cleanup`), as VDI delete does. Absent files are fine.
    ///
    /// - Throws: `SRError(.lockErr)` when this process holds the lock (another process
    ///   opening the name afterwards would lock a new file and no longer exclude us), or the
    ///   unlink fails.
    public func cleanup(_ name: String, namespace: String?) throws(SRError) {
        let lock = try lock(name, namespace: namespace)
        guard !lock.isHeld else {
            throw SRError(.lockErr, opterr: "cannot remove lock \(lock.path): held by this process")
        }
        _ = try DurableFile.remove(lock.path, code: .lockErr)
    }

    /// Removes a namespace's directory with every lock file in it (SM's `Lock.cleanupAll`).
    ///
    /// - Throws: `SRError(.lockErr)` when this process holds one of its locks, or a removal fails.
    public func cleanupAll(namespace: String?) throws(SRError) {
        let directory = try namespaceDirectory(namespace)
        guard let names = try SystemCall.directoryEntries(directory, code: .lockErr) else { return }
        for name in names {
            let lock = LockFile(path: "\(directory)/\(name)")
            guard !lock.isHeld else {
                throw SRError(.lockErr, opterr: "cannot remove lock \(lock.path): held by this process")
            }
            _ = try DurableFile.remove(lock.path, code: .lockErr)
        }
        _ = try SystemCall.retrying("rmdir", path: directory, code: .lockErr) { rmdirIgnoringAbsence(directory) }
    }

    /// `<base>/<namespace>` after checking the namespace.
    func namespaceDirectory(_ namespace: String?) throws(SRError) -> String {
        let component = namespace ?? Self.nilNamespace
        try Self.validate(component, role: "lock namespace")
        return "\(base)/\(component)"
    }

    /// Refuses a path component that is empty, too long, or could name something outside its
    /// directory.
    static func validate(_ component: String, role: String) throws(SRError) {
        let reason: String?
        if component.isEmpty {
            reason = "is empty"
        } else if component.utf8.count > 255 {
            reason = "is longer than 255 bytes"
        } else if component == "." || component == ".." {
            reason = "is a relative directory name"
        } else if component.contains("/") {
            reason = "contains '/'"
        } else if component.utf8.contains(0) {
            reason = "contains NUL"
        } else {
            reason = nil
        }
        if let reason {
            throw SRError(.lockErr, opterr: "invalid \(role) \(component.debugDescription): \(reason)")
        }
    }

    /// `path` without trailing or repeated slashes (`/` stays `/`).
    static func normalised(_ path: String) -> String {
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        let joined = components.joined(separator: "/")
        if path.hasPrefix("/") { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}

/// `rmdir` that treats an absent directory as removed.
private func rmdirIgnoringAbsence(_ path: String) -> Int32 {
    if rmdir(path) == 0 { return 0 }
    return errno == ENOENT ? 0 : -1
}
