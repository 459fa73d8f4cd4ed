import Glibc
import Sockets

/// A control-channel connection: a Unix `StreamSocket` with a line reader bounded by
/// `ControlProtocol.maximumLineLength`. A client bounds a whole request with a deadline (a
/// daemon that is stopped still accepts into its backlog and takes bytes into its buffer, then
/// never answers); the server bounds idle reads with a timeout.
///
/// Not thread-safe: one thread owns a connection (the server's per-connection thread, or the
/// client for one request); the listener is accepted on by one thread and shut down by another,
/// which `shutdown(2)` allows.
final class ControlSocket: @unchecked Sendable {
    let socket: StreamSocket
    /// What the socket is, in messages: its path, or "control socket" for an accepted one.
    let name: String
    /// Bytes received past the last line returned.
    private var pending: [UInt8] = []

    private init(_ socket: StreamSocket, name: String) {
        self.socket = socket
        self.name = name
    }

    deinit { socket.close() }

    /// `error` as the control channel reports it, naming the socket.
    private static func failure(_ error: SocketError, _ name: String) -> DatapathError {
        switch error {
        case .system(let call, let errno): return .system(call: call, errno: errno, path: name)
        case .closed: return .protocolError("stream ended inside a line")
        case .timedOut: return timedOut
        }
    }

    /// A socket listening at `path`, which must not exist, with mode 0600 whatever the umask:
    /// whoever can connect can serve any file over NBD (`StreamSocket.restrictToOwner`, between
    /// `bind` and `listen`).
    static func listen(path: String) throws(DatapathError) -> ControlSocket {
        do throws(SocketError) {
            let socket = try StreamSocket.unixStream()
            let control = ControlSocket(socket, name: path)
            try socket.bind(path: path)
            try socket.restrictToOwner(path: path)
            try socket.listen(backlog: 16)
            return control
        } catch {
            throw failure(error, path)
        }
    }

    /// A connection to the socket at `path`, made within `timeout` seconds.
    ///
    /// - Throws: `.unreachable` when nothing listens there, `.timedOut` when it does not accept
    ///   in time.
    static func connect(path: String, timeout: Double) throws(DatapathError) -> ControlSocket {
        let socket: StreamSocket
        do { socket = try StreamSocket.unixStream() } catch { throw failure(error, path) }
        let control = ControlSocket(socket, name: path)
        do {
            try socket.connect(path: path, deadline: MonotonicClock.microseconds() + UInt64(timeout * 1_000_000))
        } catch {
            switch error {
            case .timedOut: throw .timedOut(path: path, waitingFor: "accept a connection", seconds: timeout)
            case .system(_, let code): throw .unreachable(path: path, errno: code)
            case .closed: throw .unreachable(path: path, errno: ECONNRESET)
            }
        }
        return control
    }

    /// Whether something accepts connections at `path` right now.
    static func isListening(path: String) -> Bool {
        (try? connect(path: path, timeout: 1)) != nil
    }

    /// Waits for a connection.
    func accept() throws(DatapathError) -> ControlSocket {
        do { return ControlSocket(try socket.accept(), name: "control socket") } catch {
            throw Self.failure(error, name)
        }
    }

    /// Makes a blocking receive give up after `seconds` (0 = never).
    func setReceiveTimeout(_ seconds: Double) {
        try? socket.setReceiveTimeout(seconds)
    }

    /// The next line without its newline; nil when the peer closed the stream at a line boundary.
    ///
    /// - Parameter deadline: when given (`MonotonicClock` microseconds), the whole line must
    ///   arrive by then, however the peer trickles it.
    /// - Throws: `.protocolError` for a line over `maximumLineLength` or cut short by the peer,
    ///   `.timedOut` after the receive timeout or at the deadline. The corresponding C
    ///   functions are `poll` and `recv`.
    func readLine(deadline: UInt64? = nil) throws(DatapathError) -> [UInt8]? {
        var scanned = 0
        while true {
            if let newline = pending[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            scanned = pending.count
            guard pending.count <= ControlProtocol.maximumLineLength else {
                throw .protocolError("request line longer than \(ControlProtocol.maximumLineLength) bytes")
            }
            if let deadline, !(try wait(for: Int16(POLLIN), until: deadline)) { throw Self.timedOut }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let outcome = chunk.withUnsafeMutableBytes { raw in Result { () throws(SocketError) in try socket.receive(into: raw) } }
            do throws(SocketError) {
                pending += chunk[..<(try outcome.get())]
            } catch .closed {
                guard pending.isEmpty else { throw .protocolError("stream ended inside a line") }
                return nil
            } catch {
                throw Self.failure(error, name)
            }
        }
    }

    /// Sends all of `bytes`, never raising `SIGPIPE`; with a `deadline` (`MonotonicClock`
    /// microseconds) never blocking past it, else throwing `.timedOut`.
    func write(_ bytes: [UInt8], deadline: UInt64? = nil) throws(DatapathError) {
        do { try socket.write(bytes, deadline: deadline) } catch .closed {
            throw .system(call: "send", errno: EPIPE, path: name)
        } catch {
            throw Self.failure(error, name)
        }
    }

    /// What `readLine` and `write` throw when time runs out; the client names the daemon, the
    /// stage and the time.
    static let timedOut = DatapathError.timedOut(path: "control socket", waitingFor: "answer", seconds: 0)

    /// Waits until the socket is ready for `events` or `deadline` passes; false at the deadline.
    func wait(for events: Int16, until deadline: UInt64) throws(DatapathError) -> Bool {
        do { return try socket.wait(for: events, until: deadline) } catch { throw Self.failure(error, name) }
    }

    /// Stops both directions, waking a thread blocked in `accept` or `recv`.
    func shutdown() {
        socket.shutdown()
    }
}
