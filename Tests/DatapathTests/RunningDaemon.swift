import BlockIO
import Datapath
import Foundation
import TestSupport
import Testing
import VHD

/// A real `sm-datapathd` process (the one built next to the tests), started through
/// `DatapathLauncher` with its sockets, pidfile and log in a temporary directory.
final class RunningDaemon: @unchecked Sendable {
    /// The built daemon, next to the test bundle (or one directory up).
    static let binary: String? = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("sm-datapathd").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    /// Whether the NBD clients these tests drive are installed.
    static let haveClients = ["nbdinfo", "nbdcopy", "qemu-img", "qemu-io"].allSatisfy(Tool.isAvailable)
    static let ready = binary != nil && haveClients
    static let missing =
        "skipped: sm-datapathd not built next to the tests, or nbdinfo/nbdcopy (libnbd-bin) or qemu-img/qemu-io "
        + "(qemu-utils) missing; scripts/test installs them"

    let directory: TemporaryDirectory
    let socketPath: String
    let controlPath: String
    let pidFile: String
    let logPath: String
    private(set) var pid: pid_t
    let client: DatapathClient

    /// Starts a daemon serving `exports` (paths relative to `directory` are not resolved).
    init(directory: TemporaryDirectory? = nil, exports: [ExportSpec] = [], tcp: String? = nil) throws {
        self.directory = try directory ?? TemporaryDirectory(prefix: "datapath")
        socketPath = self.directory.path(for: "nbd.sock")
        controlPath = self.directory.path(for: "control.sock")
        pidFile = self.directory.path(for: "datapath.pid")
        logPath = self.directory.path(for: "datapath.log")
        client = DatapathClient(controlPath: controlPath, replyTimeout: 30)
        pid = 0
        pid = try launch(exports: exports, tcp: tcp)
    }

    deinit {
        if pid > 0 {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// Starts a daemon (`init`) on a thread of its own: the start polls the control socket
    /// until the daemon answers, which must not hold a thread of the shared pool.
    static func started(
        directory: TemporaryDirectory? = nil, exports: [ExportSpec] = [], tcp: String? = nil
    ) async throws -> RunningDaemon {
        try await onOwnThread { try RunningDaemon(directory: directory, exports: exports, tcp: tcp) }
    }

    /// `relaunch`, on a thread of its own.
    func relaunched(exports: [ExportSpec] = []) async throws {
        try await onOwnThread { try self.relaunch(exports: exports) }
    }

    /// `signalAndReap`, on a thread of its own.
    func signalledAndReaped(_ signal: Int32, timeout: Double = 15) async throws -> Int32? {
        try await onOwnThread { self.signalAndReap(signal, timeout: timeout) }
    }

    /// `reap`, on a thread of its own.
    func reaped(timeout: Double = 15) async throws -> Int32? {
        try await onOwnThread { self.reap(timeout: timeout) }
    }

    /// Spawns a daemon on this fixture's paths.
    func launch(exports: [ExportSpec] = [], tcp: String? = nil) throws -> pid_t {
        try DatapathLauncher.spawn(
            executable: try #require(Self.binary), socketPath: socketPath, controlPath: controlPath, pidFile: pidFile,
            logPath: logPath, exports: exports, tcp: tcp)
    }

    /// Restarts after the daemon exited.
    func relaunch(exports: [ExportSpec] = []) throws {
        pid = try launch(exports: exports)
    }

    /// The `nbd+unix` URI of `export`.
    func uri(_ export: String) -> String { "nbd+unix:///\(export)?socket=\(socketPath)" }

    /// Sends `signal` and waits (bounded) for the exit; returns the wait status, nil on timeout.
    func signalAndReap(_ signal: Int32, timeout: Double = 15) -> Int32? {
        kill(pid, signal)
        return reap(timeout: timeout)
    }

    /// Waits (bounded) for the daemon to exit; returns the wait status, nil on timeout.
    func reap(timeout: Double = 15) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while Date() < deadline {
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                return status
            }
            usleep(10_000)
        }
        return nil
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// A raw file of `size` bytes at `name`, every byte `fill` (sparse when 0).
    func rawFile(_ name: String, size: UInt64, fill: UInt8 = 0) throws -> String {
        let path = directory.path(for: name)
        let store = try FileBlockStore.create(path: path, size: size)
        if fill != 0 { try store.write([UInt8](repeating: fill, count: Int(size)), at: 0) }
        try store.flush()
        return path
    }

    /// A dynamic VHD of `size` bytes at `name` (its BAT sized for `preallocatedSize`, so a fast
    /// resize can grow it), its first MiB filled with `fill`.
    func vhdFile(_ name: String, size: UInt64, fill: UInt8, preallocatedSize: UInt64? = nil) throws -> String {
        let path = directory.path(for: name)
        let image = try Create.image(
            on: try FileBlockStore.create(path: path), name: path,
            options: .init(virtualSize: size, preallocatedSize: preallocatedSize))
        let bytes = [UInt8](repeating: fill, count: 1 << 20)
        try bytes.withUnsafeBytes { try image.write($0, at: 0) }
        try image.flush()
        return path
    }
}
