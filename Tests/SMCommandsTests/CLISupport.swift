import BlockIO
import Foundation
import TestSupport
import Testing
import VHD

/// The built `sm` executable run as the admin CLI, with all host state (registry, locks,
/// refcounts, mount points) in a private directory.
final class CLIHarness: @unchecked Sendable {
    static let binary: String? = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("sm").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    let directory: TemporaryDirectory
    /// A directory for `device-config:path=`.
    let srParent: String
    let environment: [String: String]

    /// A harness whose every command also gets `extra` in its environment.
    init(environment extra: [String: String] = [:]) throws {
        directory = try TemporaryDirectory(prefix: "sm-cli")
        srParent = directory.path(for: "srs")
        try FileManager.default.createDirectory(atPath: srParent, withIntermediateDirectories: true)
        environment = [
            "SM_LOCK_DIR": directory.path(for: "lock"), "SM_REFCOUNT_DIR": directory.path(for: "refcount"),
            "SM_MOUNT_BASE": directory.path(for: "mnt"), "SM_STATE_DIR": directory.path(for: "state"),
            "SM_DATAPATH_DIR": directory.path(for: "nbd"),
        ].merging(extra) { $1 }
    }

    func path(_ name: String) -> String { directory.path(for: name) }

    /// `sm arguments…`.
    func run(_ arguments: String...) throws -> ToolResult { try run(arguments) }

    func run(_ arguments: [String], environment extra: [String: String] = [:], timeout: Double = 120) throws
        -> ToolResult
    {
        try Tool(name: "sm", path: try #require(Self.binary)).run(
            arguments, environment: environment.merging(extra) { $1 }, timeout: timeout)
    }

    /// `sm arguments…` started by a shell that first sets the umask to `mask` (octal), as a
    /// caller with that umask would run it.
    func run(umask mask: String, _ arguments: [String]) throws -> ToolResult {
        let binary = try #require(Self.binary)
        return try Tool(name: "sh", path: "/bin/sh").run(
            ["-c", "umask \(mask) && exec \"$0\" \"$@\"", binary] + arguments, environment: environment, timeout: 120)
    }

    /// The process id in VDI `vdi`'s datapath pid file.
    func daemonPID(_ vdi: String) throws -> pid_t {
        let text = try String(contentsOfFile: path("nbd/\(vdi).pid"), encoding: .utf8)
        return try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// `sm arguments…`, which must succeed; its standard output without the final newline.
    @discardableResult
    func ok(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try run(arguments)
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        try result.requireSuccess()
        return result.output.hasSuffix("\n") ? String(result.output.dropLast()) : result.output
    }

    /// `sm arguments… --json`, decoded.
    func json<T: Decodable>(_ type: T.Type, _ arguments: String...) throws -> T {
        try run(arguments + ["--json"]).requireSuccess().json(type)
    }

    /// A directory SR made with sr-create; its uuid.
    @discardableResult
    func createSR(name: String = "local") throws -> String {
        try ok("sr-create", "device-config:path=\(srParent)", "name-label=\(name)")
    }

    /// A file of `size` bytes holding `pattern` at each (offset, byte) and holes elsewhere.
    func rawFile(_ name: String, size: Int, data: [(offset: Int, byte: UInt8, count: Int)]) throws -> String {
        let path = path(name)
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        for (offset, byte, count) in data {
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: Data(repeating: byte, count: count))
        }
        try handle.truncate(atOffset: UInt64(size))
        return path
    }

    func contents(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Writes `count` bytes of `byte` at `offset` into VDI `vdi` (a VHD in directory SR `sr`),
    /// as a consumer of its leaf would.
    func overwrite(_ vdi: String, in sr: String, with byte: UInt8, at offset: UInt64, count: Int) throws {
        let root = srParent + "/" + sr
        let path = root + "/\(vdi).vhd"
        let leaf = try Image.open(store: try FileBlockStore(path: path), name: path, options: .readWrite)
        let chain = try Chain.open(leaf: leaf, resolver: FileParentResolver(confinement: root))
        try [UInt8](repeating: byte, count: count).withUnsafeBytes { try chain.write($0, at: offset) }
        try leaf.flush()
    }
}

/// The JSON shapes the CLI prints.
struct SREntryJSON: Decodable {
    var uuid: String
    var nameLabel: String
    var type: String
    var attached: Bool
    var deviceConfig: [String: String]
    var vdiCount: Int?
    var physicalSize: UInt64?
}

struct VDIJSON: Decodable {
    var uuid: String
    var nameLabel: String
    var nameDescription: String
    var virtualSize: UInt64
    var physicalUtilisation: UInt64
    var hidden: Bool
    var isASnapshot: Bool
    var snapshotOf: String
    var parent: String
    var readOnly: Bool
    var volumeType: String
}

struct VDIListingJSON: Decodable {
    var sr: String
    var nameLabel: String
    var vdis: [VDIJSON]
}
