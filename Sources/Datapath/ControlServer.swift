import Foundation
import Synchronization

/// The control channel's listener: accepts on a Unix socket, reads newline-delimited JSON
/// requests on a thread per connection, and answers each with the handler's reply. A request
/// that cannot be decoded gets an error reply and the connection goes on; a line over
/// `ControlProtocol.maximumLineLength` gets an error reply and the connection is closed (the
/// stream cannot be resynchronised cheaply).
final class ControlServer: Sendable {
    /// Answers one decoded request; runs on the connection's thread.
    typealias Handler = @Sendable (ControlRequest) -> ControlReply
    /// Runs after a reply was sent (the `shutdown` reply goes out before the daemon stops).
    typealias AfterReply = @Sendable (ControlRequest, ControlReply) -> Void

    /// Control connections served at once; more are closed on arrival.
    static let maximumConnections = 32
    /// Seconds a control connection may stay silent before it is closed, so clients that
    /// connect and never speak cannot use up `maximumConnections`.
    static let idleTimeout: Double = 300

    let path: String
    private let handler: Handler
    private let afterReply: AfterReply

    private struct State {
        var listener: ControlSocket?
        var connections: [ObjectIdentifier: ControlSocket] = [:]
        var threads = 0
        var stopping = false
    }

    private let state = Mutex(State())

    init(path: String, handler: @escaping Handler, afterReply: @escaping AfterReply) {
        self.path = path
        self.handler = handler
        self.afterReply = afterReply
    }

    /// Binds `path` (which the caller has cleared) with mode 0600 and accepts on a thread of
    /// its own.
    func start() throws(DatapathError) {
        let listener = try ControlSocket.listen(path: path)
        state.withLock {
            $0.listener = listener
            $0.threads += 1
        }
        spawn { [self] in acceptLoop(listener) }
    }

    /// Stops accepting, disconnects every control client, waits (bounded) for their threads,
    /// and removes the socket file. A thread that is inside the handler finishes its request.
    func stop(timeout: Double = 5) {
        state.withLock { state in
            state.stopping = true
            state.listener?.shutdown()
            for connection in state.connections.values { connection.shutdown() }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while state.withLock({ $0.threads }) > 0 && Date() < deadline { usleep(1000) }
        state.withLock { $0.listener = nil }
        unlink(path)
    }

    private func acceptLoop(_ listener: ControlSocket) {
        defer { state.withLock { $0.threads -= 1 } }
        while true {
            guard let client = try? listener.accept() else { return }
            let admitted = state.withLock { state in
                guard !state.stopping, state.connections.count < Self.maximumConnections else { return false }
                state.connections[ObjectIdentifier(client)] = client
                state.threads += 1
                return true
            }
            guard admitted else {
                if state.withLock({ $0.stopping }) { return }
                try? client.write(ControlProtocol.line(ControlReply.failure("too many control connections")))
                continue
            }
            client.setReceiveTimeout(Self.idleTimeout)
            spawn { [self] in
                serve(client)
                state.withLock { state in
                    state.connections[ObjectIdentifier(client)] = nil
                    state.threads -= 1
                }
            }
        }
    }

    /// Answers requests on `client` until it closes the stream or breaks the framing.
    private func serve(_ client: ControlSocket) {
        while true {
            let line: [UInt8]
            do {
                guard let next = try client.readLine() else { return }
                line = next
            } catch {
                if case .protocolError(let message) = error {
                    try? client.write(ControlProtocol.line(ControlReply.failure(message)))
                }
                return
            }
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
            let request: ControlRequest
            do {
                request = try ControlProtocol.decode(ControlRequest.self, from: line)
            } catch {
                guard (try? client.write(ControlProtocol.line(ControlReply.failure(Self.describe(error, line))))) != nil
                else { return }
                continue
            }
            let reply = handler(request)
            guard (try? client.write(ControlProtocol.line(reply))) != nil else { return }
            afterReply(request, reply)
        }
    }

    /// A specific message for a request that is not a JSON request object.
    static func describe(_ error: any Error, _ line: [UInt8]) -> String {
        let excerpt = String(decoding: line.prefix(80), as: UTF8.self)
        switch error {
        case DecodingError.keyNotFound(let key, _):
            return "malformed request: missing \"\(key.stringValue)\" in \(excerpt)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            return
                "malformed request: \(field.isEmpty ? "the request" : "\"\(field)\"") has the wrong type in \(excerpt)"
        default:
            return "malformed request: not a JSON object: \(excerpt)"
        }
    }

    private func spawn(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.stackSize = 1 << 20
        thread.start()
    }
}
