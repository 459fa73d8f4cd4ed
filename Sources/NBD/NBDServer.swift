import Foundation
import Synchronization
import Sockets

/// An NBD server on a Unix socket (or, on request, TCP): fixed-newstyle handshake, exports
/// looked up by name, one thread per connection, several connections at once.
///
/// ```swift
/// let server = NBDServer(socketPath: "/run/sm/nbd.sock", exports: [vdiUUID: ChainExport(chain: chain)])
/// try server.start()
/// defer { server.stop() }
/// ```
public final class NBDServer: Sendable {
    /// Where a server listens.
    public enum Endpoint: Sendable, Equatable {
        /// A Unix stream socket at `path` (the default transport).
        case unix(path: String)
        /// TCP on the IPv4 address `host` (loopback unless asked otherwise); port 0 picks a free one.
        case tcp(host: String = "127.0.0.1", port: UInt16 = 10809)
    }

    /// Where the server listens.
    public let endpoint: Endpoint

    /// The Unix socket path, for a Unix endpoint.
    public var socketPath: String? {
        if case .unix(let path) = endpoint { return path }
        return nil
    }

    /// The TCP port bound by `start()` (the one picked for port 0), for a TCP endpoint.
    public var port: UInt16? { state.withLock { $0.port } }

    private struct State {
        var exports: [String: any NBDExport]
        var listener: StreamSocket?
        var connections: Set<StreamSocket> = []
        var threads = 0
        var stopping = false
        var port: UInt16?
    }

    private let state: Mutex<State>
    /// Set by `shutdown(grace:)`: open connections refuse new requests with `ESHUTDOWN`. An
    /// atomic, not in `state`, because every request reads it.
    private let shuttingDown = Atomic<Bool>(false)

    /// The send and receive buffer size asked for on each client socket.
    static let socketBufferSize: Int32 = 4 << 20

    /// Seconds a client may take over the whole handshake before it is disconnected.
    public let handshakeTimeout: Double
    /// Connections served at once; further clients are closed at once.
    public let maximumConnections: Int
    /// Requests of one connection served at once. 1 (the default) serves them in order on the
    /// connection's thread and sends the replies to a pipelined burst in one `send`: on a page
    /// cache warm store that measured ~2x the IOPS of 16 concurrent requests (scripts/bench-nbd:
    /// the thread hand-offs and one wake-up per reply cost more than the work). More helps when
    /// the store has latency to overlap (NFS, iSCSI) and the client uses a single connection.
    public let requestsPerConnection: Int

    /// A server for `exports` (export name → export) at `endpoint`, not yet listening.
    ///
    /// - Parameters:
    ///   - handshakeTimeout: seconds a client may take to choose an export.
    ///   - maximumConnections: clients served at once; more are disconnected on arrival.
    ///   - requestsPerConnection: requests of one connection served concurrently (at least 1).
    public init(
        endpoint: Endpoint, exports: [String: any NBDExport] = [:], handshakeTimeout: Double = 30,
        maximumConnections: Int = 256, requestsPerConnection: Int = 1
    ) {
        self.endpoint = endpoint
        self.handshakeTimeout = handshakeTimeout
        self.maximumConnections = maximumConnections
        self.requestsPerConnection = max(1, requestsPerConnection)
        state = Mutex(State(exports: exports))
    }

    /// A server for `exports` on the Unix socket `socketPath`, not yet listening.
    public convenience init(socketPath: String, exports: [String: any NBDExport] = [:]) {
        self.init(endpoint: .unix(path: socketPath), exports: exports)
    }

    /// Adds or replaces the export called `name`; connections already open keep theirs.
    public func setExport(_ export: (any NBDExport)?, named name: String) {
        state.withLock { $0.exports[name] = export }
    }

    /// The export called `name`; the default name `""` means the only export when there is
    /// just one (what `nbd:unix:PATH` without `exportname=` asks for).
    public func export(named name: String) -> (any NBDExport)? {
        state.withLock { state in
            if let export = state.exports[name] { return export }
            if name.isEmpty && state.exports.count == 1 { return state.exports.values.first }
            return nil
        }
    }

    /// The export names, sorted.
    public var exportNames: [String] { state.withLock { $0.exports.keys.sorted() } }

    /// The number of client connections being served.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Binds the endpoint (replacing a stale Unix socket file; a Unix socket is made mode 0600
    /// before it listens), listens, and accepts on a thread of its own.
    ///
    /// - Throws: `NBDError.system` when the socket cannot be created, bound or listened on.
    public func start() throws(NBDError) {
        let listener: StreamSocket
        var port: UInt16?
        switch endpoint {
        case .unix(let path):
            unlink(path)
            listener = try NBDError.socket { () throws(SocketError) in try StreamSocket.unixStream() }
        case .tcp:
            listener = try NBDError.socket { () throws(SocketError) in try StreamSocket.tcpStream() }
        }
        do throws(SocketError) {
            switch endpoint {
            case .unix(let path):
                // Whoever connects reads and writes the disk: only the owner may.
                try listener.bind(path: path)
                try listener.restrictToOwner(path: path)
            case .tcp(let host, let requested):
                try listener.bind(ipv4: host, port: requested)
                port = try listener.localPort()
            }
            try listener.listen()
        } catch {
            listener.close()
            throw NBDError(error)
        }
        state.withLock { $0.port = port }
        state.withLock {
            $0.listener = listener
            $0.threads += 1
        }
        spawn { [self] in acceptLoop(listener) }
    }

    /// Stops accepting, disconnects every client, waits (up to `timeout` seconds) for their
    /// threads to end, and removes the socket file.
    public func stop(timeout: Double = 10) {
        // Shut down under the lock: a connection leaves the set (under the lock) before its
        // descriptor is closed, so no descriptor shut down here can have been reused.
        state.withLock { state in
            state.stopping = true
            state.listener?.shutdown()
            for connection in state.connections { connection.shutdown() }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while state.withLock({ $0.threads }) > 0 && Date() < deadline {
            usleep(1000)
        }
        state.withLock { state in
            if let listener = state.listener { listener.close() }
            state.listener = nil
        }
        if let socketPath { unlink(socketPath) }
    }

    /// Shuts down cleanly: stops accepting at once; on open connections, requests already
    /// running finish and reply, while new requests get `NBD_ESHUTDOWN` (and options in a
    /// handshake `NBD_REP_ERR_SHUTDOWN`), so clients can disconnect softly. Returns when every
    /// client has disconnected, or after `grace` seconds, when the remaining connections are
    /// closed as `stop()` closes them.
    public func shutdown(grace: Double) {
        shuttingDown.store(true, ordering: .releasing)
        state.withLock { state in
            state.stopping = true
            state.listener?.shutdown()
        }
        let deadline = Date().addingTimeInterval(grace)
        while state.withLock({ !$0.connections.isEmpty }) && Date() < deadline {
            usleep(1000)
        }
        stop()
    }

    /// Whether `shutdown(grace:)` has begun.
    public var isShuttingDown: Bool { shuttingDown.load(ordering: .acquiring) }

    private func acceptLoop(_ listener: StreamSocket) {
        defer { state.withLock { $0.threads -= 1 } }
        while true {
            guard let client = try? listener.accept() else { return }
            if case .tcp = endpoint { try? client.setNoDelay() }
            // Large buffers let a 32 MiB READ reply or WRITE payload move in few system calls.
            try? client.setBufferSizes(Self.socketBufferSize)
            let admitted = state.withLock { state in
                guard !state.stopping, state.connections.count < maximumConnections else { return false }
                state.connections.insert(client)
                state.threads += 1
                return true
            }
            guard admitted else {
                client.close()
                if state.withLock({ $0.stopping }) { return }
                continue
            }
            spawn { [self] in serve(client) }
        }
    }

    private func serve(_ client: StreamSocket) {
        let connection = NBDConnection(
            socket: client,
            lookup: { [self] name in export(named: name) },
            exportNames: { [self] in exportNames },
            isShuttingDown: { [self] in isShuttingDown },
            requestsInFlight: requestsPerConnection)
        connection.run(handshakeTimeout: handshakeTimeout)
        state.withLock { state in
            state.connections.remove(client)
            state.threads -= 1
        }
        client.close()
    }

    private func spawn(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.stackSize = 1 << 20
        thread.start()
    }
}
