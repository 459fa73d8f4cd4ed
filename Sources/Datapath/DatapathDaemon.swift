import Foundation
import NBD
import Synchronization

/// The datapath daemon: NBD servers (a Unix socket, and TCP on request) serving named exports,
/// each a `ControlledExport`, plus the control channel that opens, closes, pauses, unpauses,
/// refreshes and reports on them.
///
/// Locking: `operationLock` serializes control operations and guards `exports` and
/// `shuttingDown`; NBD requests never take it (they pass only through each export's gate).
public final class DatapathDaemon: @unchecked Sendable {
    /// The daemon's version, reported by `status`.
    public static let version = "1.0.0"

    public let options: DaemonOptions
    /// Where exports are opened from: paths, or the volumes of the SR the daemon serves.
    public let source: any ExportSource
    private let servers: [NBDServer]
    private let operationLock = NSLock()
    private var exports: [String: Entry] = [:]
    private var shuttingDown = false
    private var control: ControlServer?
    private let shutdownRequested = DispatchSemaphore(value: 0)
    private let shutdownSignalled = Atomic<Bool>(false)

    private struct Entry {
        var path: String
        var readOnly: Bool
        var export: ControlledExport
    }

    /// A daemon for `options` opening its exports from `source`, not yet serving.
    public init(options: DaemonOptions, source: any ExportSource = PathExportSource()) {
        self.options = options
        self.source = source
        var servers = [NBDServer(endpoint: .unix(path: options.socketPath))]
        if let port = options.tcpPort {
            servers.append(NBDServer(endpoint: .tcp(host: options.tcpHost ?? "127.0.0.1", port: port)))
        }
        self.servers = servers
    }

    /// The TCP port NBD is served on, when asked for (the one picked for port 0).
    public var tcpPort: UInt16? { servers.dropFirst().first?.port }

    /// Claims the sockets (removing stale ones), opens the command line's exports, starts the
    /// NBD servers and the control channel, and writes the pidfile.
    ///
    /// - Throws: `.socketInUse` when another daemon listens on a socket, `.openFailed` for an
    ///   export that cannot be opened, `.system` for a socket that cannot be bound. Whatever
    ///   was started is stopped again.
    public func start() throws(DatapathError) {
        // Only what this call started is undone on failure: stopping a server that never
        // started would unlink the socket of the daemon that refused us.
        var started: [NBDServer] = []
        var wrotePID = false
        do throws(DatapathError) {
            try Self.claimSocket(options.socketPath)
            try Self.claimSocket(options.controlPath)
            for spec in options.exports { _ = try open(spec) }
            for server in servers {
                do { try server.start() } catch { throw Self.startFailure(error, server.endpoint) }
                started.append(server)
            }
            let control = ControlServer(
                path: options.controlPath,
                handler: { [self] request in handle(request) },
                afterReply: { [self] request, reply in
                    if request.op == ControlOperation.shutdown.rawValue && reply.ok { requestShutdown() }
                })
            // The pidfile goes first: once the control socket answers, a launcher may read it.
            if let pidFile = options.pidFile {
                try PIDFile(path: pidFile).write()
                wrotePID = true
            }
            try control.start()
            self.control = control
        } catch {
            if wrotePID, let pidFile = options.pidFile { PIDFile(path: pidFile).remove() }
            control?.stop()
            for server in started { server.stop(timeout: 1) }
            operationLock.withLock {
                for entry in exports.values { try? entry.export.close() }
                exports = [:]
            }
            throw error
        }
        let tcp = tcpPort.map { ", TCP port \($0)" } ?? ""
        Log.info(
            "serving NBD on \(options.socketPath)\(tcp), control on \(options.controlPath), \(exports.count) exports")
    }

    /// Asks the thread in `waitForShutdownRequest()` to shut the daemon down (a signal, or the
    /// control operation).
    public func requestShutdown() {
        if !shutdownSignalled.exchange(true, ordering: .acquiringAndReleasing) { shutdownRequested.signal() }
    }

    /// Blocks until `requestShutdown()` is called.
    public func waitForShutdownRequest() {
        shutdownRequested.wait()
    }

    /// The clean shutdown: stops the control channel; the servers stop accepting and answer
    /// new requests `NBD_ESHUTDOWN` while those running finish, for up to `grace` seconds or
    /// until the clients have gone; then every export is withdrawn, drained and flushed, the
    /// remaining connections closed, the sockets and the pidfile removed.
    ///
    /// - Returns: whether every export flushed.
    @discardableResult
    public func shutdown(grace: Double = 2) -> Bool {
        operationLock.withLock { shuttingDown = true }
        control?.stop()
        for server in servers { server.shutdown(grace: grace) }
        var flushed = true
        operationLock.withLock {
            for (name, entry) in exports.sorted(by: { $0.key < $1.key }) {
                for server in servers { server.setExport(nil, named: name) }
                do { try entry.export.close() } catch {
                    flushed = false
                    Log.info("export \(name): final flush failed: \(error)")
                }
            }
            exports = [:]
        }
        if let pidFile = options.pidFile { PIDFile(path: pidFile).remove() }
        Log.info("stopped\(flushed ? "" : " (some exports failed to flush)")")
        return flushed
    }

    // MARK: Control operations

    /// Answers one control request; every failure is a reply, never a crash.
    public func handle(_ request: ControlRequest) -> ControlReply {
        guard let operation = ControlOperation(rawValue: request.op) else {
            let known = ControlOperation.allCases.map(\.rawValue).joined(separator: ", ")
            return .failure("unknown op \"\(request.op)\" (expected one of \(known))")
        }
        return operationLock.withLock {
            guard !shuttingDown else { return .failure("the daemon is shutting down") }
            do throws(DatapathError) {
                return try perform(operation, request)
            } catch {
                if case .refused(let message) = error { return .failure(message) }
                return .failure(error.description)
            }
        }
    }

    /// One operation, with `operationLock` held.
    private func perform(_ operation: ControlOperation, _ request: ControlRequest) throws(DatapathError) -> ControlReply
    {
        var reply = ControlReply.success
        switch operation {
        case .status:
            reply.pid = getpid()
            reply.version = Self.version
            reply.exports = exports.keys.sorted().map { status(of: $0) }
            reply.connections = servers.reduce(0) { $0 + $1.connectionCount }
            reply.tcpPort = tcpPort
        case .open:
            let name = try field(request.export, "export", operation)
            let path = try field(request.path, "path", operation)
            reply.export = try open(ExportSpec(name: name, path: path, readOnly: request.readOnly ?? false))
        case .close: try close(try existing(request, operation))
        case .pause: reply.export = try pause(try existing(request, operation))
        case .unpause: reply.export = try unpause(try existing(request, operation), path: request.path)
        case .refresh: reply.export = try refresh(try existing(request, operation))
        case .stats:
            let names = request.export == nil ? exports.keys.sorted() : [try existing(request, operation)]
            reply.statistics = Dictionary(uniqueKeysWithValues: names.map { ($0, exports[$0]!.export.statistics) })
            reply.connections = servers.reduce(0) { $0 + $1.connectionCount }
        case .shutdown:
            Log.info("shutdown requested on the control channel")
        }
        return reply
    }

    private func open(_ spec: ExportSpec) throws(DatapathError) -> ExportStatus {
        // NBD names are at most 4096 bytes (NBD spec, "NBD_OPT_EXPORT_NAME"); a longer one
        // could never be asked for.
        guard !spec.name.isEmpty, spec.name.utf8.count <= 4096 else {
            throw .refused("an export name is 1 to 4096 bytes, not \(spec.name.utf8.count)")
        }
        guard exports[spec.name] == nil else {
            throw .refused("export \(spec.name) is already open (from \(exports[spec.name]!.path))")
        }
        let export = ControlledExport(try source.open(spec.path, readOnly: spec.readOnly, previous: nil))
        exports[spec.name] = Entry(path: spec.path, readOnly: spec.readOnly, export: export)
        for server in servers { server.setExport(export, named: spec.name) }
        Log.info("export \(spec.name): opened \(spec.path)\(spec.readOnly ? " read-only" : ""), \(export.size) bytes")
        return status(of: spec.name)
    }

    /// Withdraws the export from the servers (no new client finds it), then drains, flushes and
    /// closes it (its clients are disconnected at their next request).
    private func close(_ name: String) throws(DatapathError) {
        guard let entry = exports.removeValue(forKey: name) else { return }
        for server in servers { server.setExport(nil, named: name) }
        do { try entry.export.close() } catch {
            throw .refused("export \(name) closed, but its final flush failed: \(error)")
        }
        Log.info("export \(name): closed")
    }

    private func pause(_ name: String) throws(DatapathError) -> ExportStatus {
        do { try exports[name]!.export.pause() } catch {
            throw .refused("export \(name) is paused, but its flush failed: \(error)")
        }
        Log.info("export \(name): paused")
        return status(of: name)
    }

    /// Re-opens the export from `path` (else its current path) and releases its held requests;
    /// when the re-open fails the export stays paused, so the caller can fix the files and retry.
    private func unpause(_ name: String, path: String?) throws(DatapathError) -> ExportStatus {
        let entry = exports[name]!
        guard entry.export.isPaused else {
            guard path == nil || path == entry.path else {
                throw .refused("export \(name) is not paused; pause it before re-opening it from \(path!)")
            }
            return status(of: name)
        }
        let newPath = path ?? entry.path
        let replacement = try source.open(newPath, readOnly: entry.readOnly, previous: entry.export.inner)
        exports[name]!.path = newPath
        entry.export.unpause(replacement: replacement)
        Log.info("export \(name): unpaused, re-opened from \(newPath), \(replacement.size) bytes")
        return status(of: name)
    }

    /// Pause, re-open from the same path, unpause. When the pause's flush or the re-open
    /// fails, the export goes on unpaused with the chain it had: a refresh never leaves its
    /// clients held.
    private func refresh(_ name: String) throws(DatapathError) -> ExportStatus {
        let entry = exports[name]!
        guard !entry.export.isPaused else { throw .refused("export \(name) is paused; unpause it instead") }
        do { try entry.export.pause() } catch {
            entry.export.unpause()
            throw .refused("export \(name) not refreshed: its flush failed: \(error)")
        }
        do {
            let replacement = try source.open(entry.path, readOnly: entry.readOnly, previous: entry.export.inner)
            entry.export.unpause(replacement: replacement)
        } catch {
            entry.export.unpause()
            throw error
        }
        Log.info("export \(name): refreshed, \(entry.export.size) bytes")
        return status(of: name)
    }

    private func status(of name: String) -> ExportStatus {
        let entry = exports[name]!
        return ExportStatus(
            name: name, path: entry.path, readOnly: entry.readOnly, paused: entry.export.isPaused,
            size: entry.export.size)
    }

    private func field(_ value: String?, _ key: String, _ operation: ControlOperation) throws(DatapathError) -> String {
        guard let value, !value.isEmpty else { throw .refused("\(operation.rawValue) needs \"\(key)\"") }
        return value
    }

    /// The name of the open export the request names.
    private func existing(_ request: ControlRequest, _ operation: ControlOperation) throws(DatapathError) -> String {
        let name = try field(request.export, "export", operation)
        guard exports[name] != nil else { throw .refused("no export named \(name)") }
        return name
    }

    // MARK: Sockets

    /// Makes `path` free to bind: nothing there is fine; a socket nobody listens on (left by
    /// a daemon that died) is removed; a live socket or any other file is refused.
    static func claimSocket(_ path: String) throws(DatapathError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw .system(call: "lstat", errno: errno, path: path)
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw .system(call: "bind", errno: EEXIST, path: path) }
        if ControlSocket.isListening(path: path) { throw .socketInUse(path: path) }
        Log.info("removing stale socket \(path)")
        guard unlink(path) == 0 || errno == ENOENT else { throw .system(call: "unlink", errno: errno, path: path) }
    }

    /// An NBD server's failure to start, naming the call and the endpoint.
    private static func startFailure(_ error: NBDError, _ endpoint: NBDServer.Endpoint) -> DatapathError {
        let place: String
        switch endpoint {
        case .unix(let path): place = path
        case .tcp(let host, let port): place = "\(host):\(port)"
        }
        guard case .system(let operation, let code) = error else {
            return .system(call: "start NBD server (\(error))", errno: EIO, path: place)
        }
        return .system(call: operation, errno: code, path: place)
    }
}
