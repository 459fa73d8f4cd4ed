import Foundation
import TestSupport
import Testing

/// Issue 8, finding 5: other local users must not read or write VDIs or SM's state. Every
/// file `sm` creates is 0600 and every directory 0700 whatever the caller's umask, and a state
/// directory that is another user's, or that others can write, is refused by name.
@Suite(.enabled(if: CLIHarness.binary != nil, "needs the built sm executable"), .timeLimit(.minutes(3)))
struct FilePermissionTests {
    let sm: CLIHarness

    init() throws { sm = try CLIHarness() }

    @Test func everythingCreatedUnderUmask000IsOwnerOnly() async throws {
        let sr = try sm.underUmask000(["sr-create", "device-config:path=\(sm.srParent)", "name-label=private"])
        let disk = try sm.underUmask000(["vdi-create", "virtual-size=8MiB", "name-label=disk"])
        let source = try sm.rawFile("source.raw", size: 4 << 20, data: [(offset: 4096, byte: 0x5A, count: 65536)])
        _ = try sm.underUmask000(["vdi-import", "filename=\(source)", "name-label=imported"])
        _ = try sm.underUmask000(["vdi-snapshot", "uuid=\(disk)", "name-label=snap"])
        let export = sm.path("export.vhd")
        _ = try sm.underUmask000(["vdi-export", "uuid=\(disk)", "filename=\(export)", "format=vhd"])
        _ = try sm.underUmask000(["vdi-attach", "uuid=\(disk)"])
        defer { _ = try? sm.run("vdi-detach", "uuid=\(disk)") }

        let roots = [sm.srParent + "/" + sr] + ["lock", "refcount", "state", "nbd"].map { sm.path($0) }
        var seen: [String: mode_t] = [:]
        for root in roots { try Self.collectModes(root, into: &seen) }
        seen[export] = try Self.mode(export)
        // Each kind of file the finding named must be among those checked.
        let names = Set(seen.keys.map { ($0 as NSString).lastPathComponent })
        let expectedNames = ["sm-metadata.json", "\(disk).vhd", "registry.json", "registry", "sr", "\(disk).pid", "\(disk).log"]
        for expected in expectedNames {
            #expect(names.contains(expected), "\(expected) not found among \(names.sorted())")
        }
        #expect(seen.count > 15)
        for (path, mode) in seen.sorted(by: { $0.key < $1.key }) {
            let isDirectory = mode & S_IFMT == S_IFDIR
            #expect(mode & 0o7777 == (isDirectory ? 0o700 : 0o600), "\(path) is \(String(mode & 0o7777, radix: 8))")
        }
    }

    @Test func aWorldWritableStateDirectoryIsRefusedByName() async throws {
        let state = sm.path("state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        #expect(chmod(state, 0o777) == 0)
        let refused = try await sm.run("sr-list")
        #expect(refused.status != 0)
        #expect(refused.errorOutput.contains("state directory \(state) is writable by group or others"), "\(refused)")
        #expect(refused.errorOutput.contains("mode 0777"), "\(refused)")
        #expect(chmod(state, 0o700) == 0)
        try await sm.run("sr-list").requireSuccess()
    }

    @Test(.enabled(if: geteuid() == 0, "chown needs root"))
    func aStateDirectoryOwnedByAnotherUserIsRefusedByName() async throws {
        let locks = sm.path("lock")
        try FileManager.default.createDirectory(atPath: locks, withIntermediateDirectories: true)
        #expect(chmod(locks, 0o755) == 0 && chown(locks, 65534, 65534) == 0)
        let refused = try await sm.run("sr-create", "device-config:path=\(sm.srParent)")
        #expect(refused.status != 0)
        #expect(refused.errorOutput.contains("lock directory \(locks) is owned by another user"), "\(refused)")
        #expect(refused.errorOutput.contains("owner uid 65534") && refused.errorOutput.contains("mode 0755"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: sm.srParent).isEmpty, "nothing was created")
        #expect(chown(locks, 0, 0) == 0)
        try await sm.createSR()
    }

    /// The fallback of a user without `XDG_RUNTIME_DIR` is a fixed name in `/tmp`, which any
    /// other user can create first; `sm` run as nobody must refuse one made by someone else.
    @Test(.enabled(if: Self.canTestRuntimeFallback, "needs root, setpriv and no /tmp/swift-sm-65534"))
    func aRuntimeFallbackCreatedByAnotherUserIsRefused() async throws {
        let runtime = "/tmp/swift-sm-65534"
        #expect(mkdir(runtime, 0o755) == 0)
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        #expect(chmod(runtime, 0o755) == 0 && chown(runtime, 1, 1) == 0)
        let refused = try sm.asNobody(["sr-list"])
        #expect(refused.status != 0)
        #expect(refused.errorOutput.contains("runtime directory \(runtime) is owned by another user"), "\(refused)")
        #expect(refused.errorOutput.contains("owner uid 1") && refused.errorOutput.contains("mode 0755"))
        // Nobody's own directory is accepted, so the refusal was about the owner.
        #expect(chmod(runtime, 0o700) == 0 && chown(runtime, 65534, 65534) == 0)
        try sm.asNobody(["sr-list"]).requireSuccess()
    }

    static let canTestRuntimeFallback =
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
        && !FileManager.default.fileExists(atPath: "/tmp/swift-sm-65534")

    /// Every entry under `root`, `root` included, with its `lstat` mode (sockets skipped: their
    /// modes belong to the datapath's tests, and the 0700 directory already shields them).
    static func collectModes(_ root: String, into modes: inout [String: mode_t]) throws {
        modes[root] = try mode(root)
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return }
        while let name = enumerator.nextObject() as? String {
            let path = root + "/" + name
            // An upkeep process may rename its temporary files while this walks.
            guard let mode = try? mode(path), mode & S_IFMT != S_IFSOCK else { continue }
            modes[path] = mode
        }
    }

    static func mode(_ path: String) throws -> mode_t {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        return info.st_mode
    }
}

extension CLIHarness {
    /// `sm arguments…` run by a shell with umask 000, which must succeed; its output's first line.
    func underUmask000(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let shell = Tool(name: "sh", path: "/bin/sh")
        let result = try shell.run(
            ["-c", "umask 000; exec \"$0\" \"$@\"", try #require(Self.binary)] + arguments, environment: environment,
            timeout: 120)
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        try result.requireSuccess()
        return String(result.output.split(separator: "\n").first ?? "")
    }

    /// `sm arguments…` run as user and group nobody with the host defaults: no `SM_*`
    /// directories and no `XDG_RUNTIME_DIR`, so the runtime directory is `/tmp/swift-sm-65534`.
    func asNobody(_ arguments: [String]) throws -> ToolResult {
        let unset = [
            "SM_LOCK_DIR", "SM_REFCOUNT_DIR", "SM_MOUNT_BASE", "SM_STATE_DIR", "SM_DATAPATH_DIR", "XDG_RUNTIME_DIR",
        ]
        var environment = Dictionary(uniqueKeysWithValues: unset.map { ($0, "") })
        environment["HOME"] = "/nonexistent"
        environment["XDG_STATE_HOME"] = ""
        let setpriv = Tool(name: "setpriv", path: "/usr/bin/setpriv")
        return try setpriv.run(
            ["--reuid=65534", "--regid=65534", "--clear-groups", "--", try #require(Self.binary)] + arguments,
            environment: environment, timeout: 60)
    }
}
