import Foundation

/// The control channel's wire format: one JSON object per line (UTF-8, `\n`-terminated) each
/// way, one reply per request, in order, on a Unix stream socket.
///
/// ```
/// → {"op":"pause","export":"6a1f…"}
/// ← {"export":{"name":"6a1f…","path":"/sr/6a1f….vhd","paused":true,"readOnly":false,"size":1073741824},"ok":true}
/// → {"op":"frobnicate"}
/// ← {"ok":false,"error":"unknown op \"frobnicate\" (expected one of status, open, …)"}
/// ```
public enum ControlProtocol {
    /// The longest request or reply line read, newline excluded (64 KiB).
    public static let maximumLineLength = 64 << 10

    /// `value` as one JSON line, newline included.
    public static func line<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
    }

    /// Decodes one line (without its newline).
    public static func decode<T: Decodable>(_ type: T.Type, from line: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(line))
    }
}

/// The operations the daemon answers.
public enum ControlOperation: String, Codable, Sendable, CaseIterable {
    /// pid, version, and every export.
    case status
    /// Open `path` as `export` (`readOnly` optional, default false).
    case open
    /// Flush `export`, remove it from the server, drop its connections.
    case close
    /// Hold new requests to `export`, drain those in flight, flush.
    case pause
    /// Re-open `export`'s chain (from `path` when given, else its current path), release held requests.
    case unpause
    /// Pause, re-open from the same path, unpause (after an online resize, a relink).
    case refresh
    /// The I/O counters of `export`, or of every export.
    case stats
    /// Clean shutdown: flush and close every export, remove the sockets and pidfile, exit 0.
    case shutdown
}

/// One request. `op` stays a string on the wire so an unknown one can be named in the reply.
public struct ControlRequest: Codable, Sendable, Equatable {
    public var op: String
    public var export: String?
    public var path: String?
    public var readOnly: Bool?

    public init(_ operation: ControlOperation, export: String? = nil, path: String? = nil, readOnly: Bool? = nil) {
        self.op = operation.rawValue
        self.export = export
        self.path = path
        self.readOnly = readOnly
    }
}

/// One export as `status` and the per-export operations report it.
public struct ExportStatus: Codable, Sendable, Equatable {
    /// The export name clients ask for (the VDI uuid).
    public var name: String
    /// The path the export was (last) opened from.
    public var path: String
    public var readOnly: Bool
    public var paused: Bool
    /// The size in bytes clients see.
    public var size: UInt64

    public init(name: String, path: String, readOnly: Bool, paused: Bool, size: UInt64) {
        self.name = name
        self.path = path
        self.readOnly = readOnly
        self.paused = paused
        self.size = size
    }
}

/// One reply: `ok` and, on failure, `error`; on success the fields the operation fills.
public struct ControlReply: Codable, Sendable, Equatable {
    public var ok: Bool
    /// What was wrong, when `ok` is false.
    public var error: String?
    /// `status`: the daemon's process id and version, and every export.
    public var pid: Int32?
    public var version: String?
    public var exports: [ExportStatus]?
    /// `open`, `pause`, `unpause`, `refresh`: the export afterwards.
    public var export: ExportStatus?
    /// `stats`: export name → counters.
    public var statistics: [String: ExportStatistics]?
    /// `status`, `stats`: NBD client connections open, over all exports.
    public var connections: Int?
    /// `status`: the TCP port NBD is served on, when it is.
    public var tcpPort: UInt16?

    public init(ok: Bool, error: String? = nil) {
        self.ok = ok
        self.error = error
    }

    /// A success carrying nothing else.
    public static let success = ControlReply(ok: true)

    /// A failure saying `message`.
    public static func failure(_ message: String) -> ControlReply { ControlReply(ok: false, error: message) }
}
