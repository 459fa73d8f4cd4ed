import Glibc

/// Where this host keeps SM's local state, each overridable by an environment variable so that
/// tests and unprivileged users can run a whole SM in their own directories:
///
/// | what | variable | root's default | others' default |
/// |---|---|---|---|
/// | lock files (SM's `/var/lock/sm`) | `SM_LOCK_DIR` | `/var/lock/sm` | `<runtime>/lock` |
/// | reference counts | `SM_REFCOUNT_DIR` | `/var/run/sm/refcount` | `<runtime>/refcount` |
/// | SR mount points | `SM_MOUNT_BASE` | `/var/run/sr-mount` | `<runtime>/sr-mount` |
/// | the SR registry (`sm` CLI) | `SM_STATE_DIR` | `/var/lib/swift-sm` | `<state home>/swift-sm` |
/// | datapath daemons' sockets, pids, logs | `SM_DATAPATH_DIR` | `/var/run/sm/nbd` | `<runtime>/nbd` |
///
/// `<runtime>` is `$XDG_RUNTIME_DIR/swift-sm`, else `/tmp/swift-sm-<uid>`; `<state home>` is
/// `$XDG_STATE_HOME`, else `$HOME/.local/state`. Processes of one user agree on all of them, so
/// their locks exclude each other.
///
/// `verify()` refuses any of these directories (and `<runtime>`) that exists but is not this
/// user's alone; SM creates missing ones 0700 when it first needs them.
public struct HostPaths: Hashable, Sendable {
    public var lockDirectory: String
    public var refcountDirectory: String
    public var mountBase: String
    public var stateDirectory: String
    /// Where each VDI's datapath daemon keeps its NBD and control sockets, pid file and log.
    public var datapathDirectory: String
    /// `<runtime>`, when one of the directories above defaulted to a place inside it.
    public var runtimeDirectory: String?

    public init(
        lockDirectory: String, refcountDirectory: String, mountBase: String, stateDirectory: String,
        datapathDirectory: String? = nil, runtimeDirectory: String? = nil
    ) {
        self.lockDirectory = lockDirectory
        self.refcountDirectory = refcountDirectory
        self.mountBase = mountBase
        self.stateDirectory = stateDirectory
        self.datapathDirectory = datapathDirectory ?? Self.sibling(of: refcountDirectory, named: "nbd")
        self.runtimeDirectory = runtimeDirectory
    }

    /// Refuses the first existing directory among `<runtime>` and the five state directories
    /// that is not a directory owned by the effective user and writable by no one else
    /// (`StateDirectory.check`); missing ones are fine.
    ///
    /// - Throws: `SRError(.smGeneral)` naming the directory's role, path, owner and mode.
    public func verify() throws(SRError) {
        if let runtimeDirectory { try StateDirectory.check(runtimeDirectory, role: "runtime directory") }
        let directories = [
            ("lock directory", lockDirectory), ("refcount directory", refcountDirectory),
            ("mount base", mountBase), ("state directory", stateDirectory), ("datapath directory", datapathDirectory),
        ]
        for (role, path) in directories { try StateDirectory.check(path, role: role) }
    }

    /// The paths the environment `variables` and the user id choose (see the table above).
    public static func fromEnvironment(
        _ variables: [String: String] = HostPaths.processEnvironment(), isRoot: Bool = geteuid() == 0
    )
        -> HostPaths
    {
        func value(_ name: String) -> String? {
            guard let text = variables[name], !text.isEmpty else { return nil }
            return text
        }
        let runtime: String
        if let directory = value("XDG_RUNTIME_DIR") {
            runtime = directory + "/swift-sm"
        } else {
            runtime = "/tmp/swift-sm-\(getuid())"
        }
        let stateHome = value("XDG_STATE_HOME") ?? ((value("HOME") ?? "/tmp") + "/.local/state")
        let runtimeVariables = ["SM_LOCK_DIR", "SM_REFCOUNT_DIR", "SM_MOUNT_BASE", "SM_DATAPATH_DIR"]
        let usesRuntime = !isRoot && runtimeVariables.contains { value($0) == nil }
        return HostPaths(
            lockDirectory: value("SM_LOCK_DIR") ?? (isRoot ? LockDirectory.defaultBase : runtime + "/lock"),
            refcountDirectory: value("SM_REFCOUNT_DIR") ?? (isRoot ? RefCounter.defaultBase : runtime + "/refcount"),
            mountBase: value("SM_MOUNT_BASE") ?? (isRoot ? "/var/run/sr-mount" : runtime + "/sr-mount"),
            stateDirectory: value("SM_STATE_DIR") ?? (isRoot ? "/var/lib/swift-sm" : stateHome + "/swift-sm"),
            datapathDirectory: value("SM_DATAPATH_DIR") ?? (isRoot ? "/var/run/sm/nbd" : runtime + "/nbd"),
            runtimeDirectory: usesRuntime ? runtime : nil)
    }

    /// `<directory's parent>/<name>`: where a path left unsaid goes, beside the reference counts.
    static func sibling(of directory: String, named name: String) -> String {
        let parent = directory.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return (parent.isEmpty ? "" : parent) + "/" + name
    }

    /// The process's environment as a dictionary.
    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            cursor += 1
        }
        return result
    }

    public var locks: LockDirectory { LockDirectory(base: lockDirectory) }
    public var refcounts: RefCounter { RefCounter(base: refcountDirectory, locks: locks) }
}
