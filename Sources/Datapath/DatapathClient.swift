import Glibc
import Sockets

/// The SM core's handle on a datapath daemon: one typed method per control operation, each a
/// request/reply on a fresh connection to the control socket (so a restarted daemon is picked
/// up and a dead one is reported at once).
///
/// ```swift
/// let client = DatapathClient(controlPath: "/run/sm/datapath/ctl.sock")
/// try client.pause(export: vdiUUID)
/// // snapshot the leaf …
/// try client.unpause(export: vdiUUID)
/// ```
public struct DatapathClient: Sendable {
    /// The daemon's status: its process, version, exports and open NBD connections.
    public struct Status: Sendable, Equatable {
        public var pid: Int32
        public var version: String
        public var exports: [ExportStatus]
        public var connections: Int
        /// The TCP port NBD is served on, when it is.
        public var tcpPort: UInt16?
    }

    /// The control socket.
    public let controlPath: String
    /// Seconds to wait for the daemon to accept a connection.
    public let connectTimeout: Double
    /// Seconds to wait for a reply (a pause waits for requests in flight and a flush).
    public let replyTimeout: Double

    public init(controlPath: String, connectTimeout: Double = 2, replyTimeout: Double = 60) {
        self.controlPath = controlPath
        self.connectTimeout = connectTimeout
        self.replyTimeout = replyTimeout
    }

    /// A client that gives the daemon `timeout` seconds to accept a connection and `timeout`
    /// again to take the request and answer it.
    public init(controlPath: String, timeout: Double) {
        self.init(controlPath: controlPath, connectTimeout: timeout, replyTimeout: timeout)
    }

    /// `status`.
    public func status() throws(DatapathError) -> Status {
        let reply = try send(ControlRequest(.status))
        guard let pid = reply.pid, let version = reply.version, let exports = reply.exports else {
            throw .protocolError("status reply without pid, version or exports")
        }
        return Status(
            pid: pid, version: version, exports: exports, connections: reply.connections ?? 0,
            tcpPort: reply.tcpPort)
    }

    /// `open`: serves `path` as `export`.
    @discardableResult
    public func open(export: String, path: String, readOnly: Bool = false) throws(DatapathError) -> ExportStatus {
        try exportReply(ControlRequest(.open, export: export, path: path, readOnly: readOnly))
    }

    /// `close`: flushes `export`, withdraws it and drops its connections.
    public func close(export: String) throws(DatapathError) {
        _ = try send(ControlRequest(.close, export: export))
    }

    /// `pause`: holds new requests, drains those in flight, flushes; returns once quiet.
    @discardableResult
    public func pause(export: String) throws(DatapathError) -> ExportStatus {
        try exportReply(ControlRequest(.pause, export: export))
    }

    /// `unpause`: re-opens the chain from `path` (else the export's path) and releases the held
    /// requests.
    @discardableResult
    public func unpause(export: String, path: String? = nil) throws(DatapathError) -> ExportStatus {
        try exportReply(ControlRequest(.unpause, export: export, path: path))
    }

    /// `refresh`: pause, re-open from the same path, unpause (after an online resize).
    @discardableResult
    public func refresh(export: String) throws(DatapathError) -> ExportStatus {
        try exportReply(ControlRequest(.refresh, export: export))
    }

    /// `stats`: the counters of `export`, or of every export when nil; name → counters.
    public func statistics(export: String? = nil) throws(DatapathError) -> [String: ExportStatistics] {
        let reply = try send(ControlRequest(.stats, export: export))
        guard let statistics = reply.statistics else { throw .protocolError("stats reply without statistics") }
        return statistics
    }

    /// `shutdown`: the daemon replies, then shuts down cleanly and exits.
    public func shutdown() throws(DatapathError) {
        _ = try send(ControlRequest(.shutdown))
    }

    /// Sends `request` and returns the successful reply: the connection within
    /// `connectTimeout`, then sending the request and receiving the reply within `replyTimeout`.
    ///
    /// - Throws: `.unreachable` when the daemon cannot be reached, `.timedOut` (naming the
    ///   stage) when it does not accept, take the request or answer in time, `.refused` for
    ///   `{"ok":false}`, `.protocolError` for a reply that is not one.
    public func send(_ request: ControlRequest) throws(DatapathError) -> ControlReply {
        let bytes: [UInt8]
        do { bytes = try ControlProtocol.line(request) } catch {
            throw .protocolError("cannot encode the request: \(error)")
        }
        let socket = try ControlSocket.connect(path: controlPath, timeout: connectTimeout)
        let deadline = MonotonicClock.microseconds() + UInt64(max(replyTimeout, 0) * 1_000_000)
        try stage("take the \(request.op) request") { () throws(DatapathError) in
            try socket.write(bytes, deadline: deadline)
        }
        let line = try stage("answer \(request.op)") { () throws(DatapathError) in
            try socket.readLine(deadline: deadline)
        }
        guard let line else { throw .unreachable(path: controlPath, errno: ECONNRESET) }
        let reply: ControlReply
        do { reply = try ControlProtocol.decode(ControlReply.self, from: line) } catch {
            throw .protocolError("reply is not a control reply: \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
        guard reply.ok else { throw .refused(reply.error ?? "no reason given") }
        return reply
    }

    /// Runs one stage of a request, naming it and this daemon in a timeout.
    private func stage<T>(_ waitingFor: String, _ body: () throws(DatapathError) -> T) throws(DatapathError) -> T {
        do { return try body() } catch {
            switch error {
            case .timedOut: throw .timedOut(path: controlPath, waitingFor: waitingFor, seconds: replyTimeout)
            // The daemon died between accepting and answering.
            case .system(_, let code, _): throw .unreachable(path: controlPath, errno: code)
            default: throw error
            }
        }
    }

    private func exportReply(_ request: ControlRequest) throws(DatapathError) -> ExportStatus {
        guard let export = try send(request).export else { throw .protocolError("\(request.op) reply without export") }
        return export
    }
}
