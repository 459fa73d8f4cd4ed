import Foundation
import Synchronization

/// An NBD server on a Unix socket: fixed-newstyle handshake, exports looked up by name, one
/// thread per connection, several connections at once.
///
/// ```swift
/// let server = NBDServer(socketPath: "/run/sm/nbd.sock", exports: [vdiUUID: ChainExport(chain: chain)])
/// try server.start()
/// defer { server.stop() }
/// ```
public final class NBDServer: Sendable {
    /// The Unix socket path the server listens on.
    public let socketPath: String

    private struct State {
        var exports: [String: any NBDExport]
        var listener: Socket?
        var connections: Set<Socket> = []
        var threads = 0
        var stopping = false
    }

    private let state: Mutex<State>

    /// A server for `exports` (export name → export), not yet listening.
    public init(socketPath: String, exports: [String: any NBDExport] = [:]) {
        self.socketPath = socketPath
        state = Mutex(State(exports: exports))
    }

    /// Adds or replaces the export called `name`; connections already open keep theirs.
    public func setExport(_ export: (any NBDExport)?, named name: String) {
        state.withLock { $0.exports[name] = export }
    }

    /// The export names, sorted.
    public var exportNames: [String] { state.withLock { $0.exports.keys.sorted() } }

    /// The number of client connections being served.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Binds `socketPath` (replacing a stale socket file), listens, and accepts on a thread of its own.
    ///
    /// - Throws: `NBDError.system` when the socket cannot be created, bound or listened on.
    public func start() throws(NBDError) {
        unlink(socketPath)
        let listener = try Socket.unixStream()
        do {
            try listener.bind(path: socketPath)
            try listener.listen()
        } catch {
            listener.close()
            throw error
        }
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
        unlink(socketPath)
    }

    private func acceptLoop(_ listener: Socket) {
        defer { state.withLock { $0.threads -= 1 } }
        while true {
            guard let client = try? listener.accept() else { return }
            let admitted = state.withLock { state in
                guard !state.stopping else { return false }
                state.connections.insert(client)
                state.threads += 1
                return true
            }
            guard admitted else {
                client.close()
                return
            }
            spawn { [self] in serve(client) }
        }
    }

    private func serve(_ client: Socket) {
        let connection = NBDConnection(
            socket: client,
            lookup: { [self] name in state.withLock { $0.exports[name] } },
            exportNames: { [self] in exportNames })
        connection.run()
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
