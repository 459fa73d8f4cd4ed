import Glibc
import Synchronization

/// SM's reference counts (`refcounter.py`): how many users hold an object (an LV activated for
/// a chain, a VDI attached), kept in files so that every process on the host agrees.
///
/// Object `o` of namespace `ns` is the file `<base>/<ns>/<o>` holding `"<count> <binaryCount>\n"`;
/// an absent file means (0, 0), and the file (and its namespace directory, once empty) is
/// removed when both reach 0. The *normal* count is any non-negative number; the *binary* count
/// is 0 or 1 (a second `get` of it does not count twice). Decrementing below 0 is clamped to 0
/// with a warning, as SM does. Every operation runs under the object's lock file
/// `<lock base>/<ns>/<o>` (SM's `Lock(obj, ns)`), which is re-entrant, so callers that already
/// hold it (to activate an LV together with its count) can call in. Because that lock is the
/// process's, not a thread's, threads of one process are also serialised per count file by an
/// in-process gate, so concurrent `get`s never lose an update.
///
/// Names are made safe as SM's `_getSafeNames` does: `/`, `*`, `?` and `\` in the object
/// become `_`, and a missing namespace is the object's first `/`-separated part (or `default`).
/// Names that would still leave the namespace directory (`.`, `..`, empty, NUL) are refused.
public struct RefCounter: Sendable {
    /// The counts of one object.
    public struct Counts: Hashable, Sendable {
        /// The normal count (parents of active leaves, nested users).
        public var count: Int
        /// The binary count, 0 or 1 (a leaf's tapdisk).
        public var binaryCount: Int

        public init(count: Int, binaryCount: Int) {
            self.count = count
            self.binaryCount = binaryCount
        }

        /// `count + binaryCount`: what SM's `get` and `put` return.
        public var total: Int { count + binaryCount }
    }

    /// SM's `RefCounter.BASE_DIR`.
    public static let defaultBase = "/var/run/sm/refcount"

    /// The directory holding one directory per namespace.
    public let base: String
    /// Where the per-object locks live.
    public let locks: LockDirectory
    /// How long an operation waits for the object's lock before failing with `LockErr`.
    public let lockTimeout: Duration?
    /// Receives warnings (a decrement below zero); SM logs them.
    public let warning: @Sendable (String) -> Void

    /// Reference counts under `base`, locked under `locks`.
    public init(
        base: String = RefCounter.defaultBase, locks: LockDirectory = LockDirectory(),
        lockTimeout: Duration? = .seconds(60), warning: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.base = LockDirectory.normalised(base)
        self.locks = locks
        self.lockTimeout = lockTimeout
        self.warning = warning
    }

    /// Takes a reference: the binary count becomes 1 when `binary`, else the normal count grows by 1.
    ///
    /// - Returns: The new `count + binaryCount`.
    @discardableResult
    public func get(_ object: String, binary: Bool, namespace: String? = nil) throws(SRError) -> Int {
        try adjust(object, namespace: namespace, delta: binary ? 0 : 1, binaryDelta: binary ? 1 : 0)
    }

    /// Drops a reference: the binary count becomes 0 when `binary`, else the normal count shrinks
    /// by 1 (not below 0).
    ///
    /// - Returns: The new `count + binaryCount`.
    @discardableResult
    public func put(_ object: String, binary: Bool, namespace: String? = nil) throws(SRError) -> Int {
        try adjust(object, namespace: namespace, delta: binary ? 0 : -1, binaryDelta: binary ? -1 : 0)
    }

    /// Sets both counts.
    ///
    /// - Throws: `SRError(.invalidArg)` for a negative count or a binary count above 1.
    public func set(_ object: String, count: Int, binaryCount: Int, namespace: String? = nil) throws(SRError) {
        guard count >= 0, (0...1).contains(binaryCount) else {
            throw SRError(
                .invalidArg, opterr: "refcount (\(count), \(binaryCount)) for \(object): counts must be ≥ 0, binary ≤ 1"
            )
        }
        let (name, space) = try Self.safeNames(object, namespace)
        try locked(name, space) { () throws(SRError) in
            try write(Counts(count: count, binaryCount: binaryCount), name, space)
        }
    }

    /// The object's counts ((0, 0) when it has no file), read under its lock (SM's `checkLocked`).
    public func check(_ object: String, namespace: String? = nil) throws(SRError) -> Counts {
        let (name, space) = try Self.safeNames(object, namespace)
        return try locked(name, space) { () throws(SRError) in try read(name, space) }
    }

    /// Sets the object's counts to (0, 0), removing its file.
    public func reset(_ object: String, namespace: String? = nil) throws(SRError) {
        let (name, space) = try Self.safeNames(object, namespace)
        try locked(name, space) { () throws(SRError) in try write(Counts(count: 0, binaryCount: 0), name, space) }
    }

    /// Resets every object of `namespace`, or of every namespace when it is nil (SM's
    /// `resetAll`), as a master change-over or SR attach does.
    public func resetAll(namespace: String? = nil) throws(SRError) {
        let spaces: [String]
        if let namespace {
            try LockDirectory.validate(namespace, role: "refcount namespace")
            spaces = [namespace]
        } else {
            spaces = (try SystemCall.directoryEntries(base) ?? []).filter { name in
                (try? LockDirectory.validate(name, role: "")) != nil && SystemCall.isDirectory("\(base)/\(name)")
            }
        }
        for space in spaces {
            for name in try SystemCall.directoryEntries("\(base)/\(space)") ?? []
            where !name.contains(DurableFile.temporaryMarker) {
                try locked(name, space) { () throws(SRError) in try write(Counts(count: 0, binaryCount: 0), name, space)
                }
            }
            removeNamespaceIfEmpty(space)
        }
    }

    /// The objects of `namespace` with a non-zero count (names as stored, after sanitising).
    public func objects(namespace: String) throws(SRError) -> [String] {
        try LockDirectory.validate(namespace, role: "refcount namespace")
        var found: [String] = []
        for name in try SystemCall.directoryEntries("\(base)/\(namespace)") ?? []
        where !name.contains(DurableFile.temporaryMarker) {
            let counts = try check(name, namespace: namespace)
            if counts.count > 0 || counts.binaryCount > 0 { found.append(name) }
        }
        return found.sorted()
    }

    /// The file that holds an object's counts (after SM's name sanitising).
    public func path(of object: String, namespace: String? = nil) throws(SRError) -> String {
        let (name, space) = try Self.safeNames(object, namespace)
        return "\(base)/\(space)/\(name)"
    }

    // MARK: Internals

    private func adjust(_ object: String, namespace: String?, delta: Int, binaryDelta: Int) throws(SRError) -> Int {
        let (name, space) = try Self.safeNames(object, namespace)
        return try locked(name, space) { () throws(SRError) in
            let old = try read(name, space)
            var new = old
            new.count += delta
            if binaryDelta != 0 { new.binaryCount = binaryDelta > 0 ? 1 : 0 }
            if new.count < 0 {
                warning("refcount of \(space)/\(name): decrementing normal refcount of 0")
                new.count = 0
            }
            if new != old { try write(new, name, space) }
            return new.total
        }
    }

    /// Count files some thread of this process is reading or writing.
    private static let busyFiles = Mutex<Set<String>>([])

    /// Runs `body` with the object's count file to this thread (the in-process gate) and the
    /// object's lock file to this process.
    private func locked<T>(_ name: String, _ space: String, _ body: () throws(SRError) -> T) throws(SRError) -> T {
        let lock = try locks.lock(name, namespace: space)
        let file = "\(base)/\(space)/\(name)"
        while !Self.busyFiles.withLock({ $0.insert(file).inserted }) {
            SystemCall.sleep(.microseconds(200))
        }
        defer { _ = Self.busyFiles.withLock { $0.remove(file) } }
        return try lock.withLock(.exclusive, timeout: lockTimeout, body)
    }

    private func read(_ name: String, _ space: String) throws(SRError) -> Counts {
        let path = "\(base)/\(space)/\(name)"
        guard let bytes = try DurableFile.readBytes(path, limit: 256) else { return Counts(count: 0, binaryCount: 0) }
        let text = String(decoding: bytes, as: UTF8.self)
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        guard fields.count == 2, let count = Int(fields[0]), let binary = Int(fields[1]),
            count >= 0, (0...1).contains(binary)
        else {
            throw SRError(
                .smGeneral, opterr: "refcount file \(path) holds \(text.debugDescription), not \"<count> <0|1>\"")
        }
        return Counts(count: count, binaryCount: binary)
    }

    private func write(_ counts: Counts, _ name: String, _ space: String) throws(SRError) {
        let directory = "\(base)/\(space)"
        let path = "\(directory)/\(name)"
        if counts.count == 0 && counts.binaryCount == 0 {
            try DurableFile.remove(path)
            removeNamespaceIfEmpty(space)
            return
        }
        try SystemCall.makeDirectories(directory)
        DurableFile.removeStaleTemporaries(of: path)
        try DurableFile.replace(path, with: Array("\(counts.count) \(counts.binaryCount)\n".utf8))
    }

    /// Removes a namespace directory if nothing is left in it (as SM's `_removeObject`).
    private func removeNamespaceIfEmpty(_ space: String) {
        _ = rmdir("\(base)/\(space)")
    }

    /// SM's `_getSafeNames`, plus refusal of names that would leave the namespace directory.
    static func safeNames(_ object: String, _ namespace: String?) throws(SRError) -> (object: String, namespace: String)
    {
        var space = namespace ?? ""
        if space.isEmpty {
            space =
                object.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
                ?? ""
            if space.isEmpty { space = "default" }
        }
        let unsafe: Set<Character> = ["/", "*", "?", "\\"]
        let name = String(object.map { unsafe.contains($0) ? "_" : $0 })
        do {
            try LockDirectory.validate(name, role: "refcount object")
            try LockDirectory.validate(space, role: "refcount namespace")
        } catch {
            throw SRError(.invalidArg, opterr: error.opterr)
        }
        return (name, space)
    }
}
