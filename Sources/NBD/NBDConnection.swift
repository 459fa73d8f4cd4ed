import Synchronization
import Sockets

/// One client connection: the fixed-newstyle handshake on the calling thread, then the
/// transmission phase, its requests served in order on that thread or concurrently (see
/// `transmit`).
///
/// Sendable because its mutable state (`structuredReplies`, `allocationContextExport`,
/// `noZeroes`) is written only during the handshake, before any request runs on another
/// thread; `sendLock` serialises replies.
final class NBDConnection: @unchecked Sendable {
    /// The largest READ or WRITE payload served (32 MiB, what qemu and nbdcopy send at most).
    static let maximumPayload: UInt32 = 32 << 20
    static let preferredBlockSize: UInt32 = 4096
    /// The options a client may send before choosing an export (nbdinfo --list sends two per export).
    static let maximumOptionCount = 1024

    let socket: StreamSocket
    let lookup: (String) -> (any NBDExport)?
    let exportNames: () -> [String]
    /// Whether the server is shutting down: options get `ERR_SHUTDOWN`, requests `ESHUTDOWN`.
    let isShuttingDown: () -> Bool
    /// Requests served at once (see `RequestPipeline`); 1 serves them inline, in order.
    let requestsInFlight: Int
    /// Guards the socket's sending side and, when requests are served in order, the replies
    /// held back to go out together (see `send`).
    let sendLock = Mutex<[UInt8]>([])
    var structuredReplies = false
    /// The export whose `base:allocation` context the last SET selected, if it did.
    var allocationContextExport: String?
    var noZeroes = false

    init(
        socket: StreamSocket, lookup: @escaping (String) -> (any NBDExport)?, exportNames: @escaping () -> [String],
        isShuttingDown: @escaping () -> Bool = { false }, requestsInFlight: Int = 1
    ) {
        self.requestsInFlight = requestsInFlight
        self.socket = socket
        self.lookup = lookup
        self.exportNames = exportNames
        self.isShuttingDown = isShuttingDown
    }

    /// Serves until the client leaves or breaks the protocol; never throws.
    func run(handshakeTimeout: Double) {
        do {
            try NBDError.socket { () throws(SocketError) in try socket.setReceiveTimeout(handshakeTimeout) }
            guard let (name, export) = try negotiate() else { return }
            try NBDError.socket { () throws(SocketError) in try socket.setReceiveTimeout(0) }
            try transmit(export, contextSelected: allocationContextExport == name)
        } catch {
            // A closed or broken stream ends this connection only.
        }
    }

    // MARK: Handshake

    /// The handshake; returns the export chosen, or nil after ABORT.
    func negotiate() throws(NBDError) -> (String, any NBDExport)? {
        try NBDError.socket { () throws(SocketError) in try socket.write(Handshake.greeting()) }
        var reader = WireReader(try NBDError.socket { () throws(SocketError) in try socket.read(exactly: 4) })
        let clientFlags = reader.u32() ?? 0
        guard clientFlags & ~(Handshake.clientFixedNewstyle | Handshake.clientNoZeroes) == 0 else {
            throw .protocolViolation("unknown client flags \(clientFlags)")
        }
        noZeroes = clientFlags & Handshake.clientNoZeroes != 0
        for _ in 0..<Self.maximumOptionCount {
            var header = WireReader(try NBDError.socket { () throws(SocketError) in try socket.read(exactly: 16) })
            guard header.u64() == Handshake.optionMagic, let option = header.u32(), let length = header.u32() else {
                throw .protocolViolation("bad option magic")
            }
            guard length <= maximumOptionLength else { throw .protocolViolation("option length \(length)") }
            let data = try NBDError.socket { () throws(SocketError) in try socket.read(exactly: Int(length)) }
            if let chosen = try handleOption(option, data: data) {
                guard let export = chosen.export else { return nil }
                return (chosen.name, export)
            }
        }
        throw .protocolViolation("more than \(Self.maximumOptionCount) options")
    }

    private struct Choice {
        var name: String
        var export: (any NBDExport)?
    }

    /// Answers one option; a non-nil result ends the handshake (a nil export = ABORT).
    private func handleOption(_ option: UInt32, data: [UInt8]) throws(NBDError) -> Choice? {
        func reply(_ type: UInt32, _ payload: [UInt8] = []) throws(NBDError) {
            let bytes = optionReply(option, type: type, data: payload)
            try NBDError.socket { () throws(SocketError) in try socket.write(bytes) }
        }
        func fail(_ type: UInt32, _ message: String) throws(NBDError) {
            try reply(type, Array(message.utf8.prefix(200)))
        }
        // A server shutting down answers every option but ABORT with ERR_SHUTDOWN (NBD spec).
        if isShuttingDown() && option != OptionCode.abort {
            if option == OptionCode.exportName { throw .protocolViolation("server shutting down") }
            try fail(OptionReplyType.errorShutdown, "server shutting down")
            return nil
        }
        switch option {
        case OptionCode.exportName:
            let name = String(decoding: data, as: UTF8.self)
            guard let export = lookup(name) else { throw .protocolViolation("unknown export \(name)") }
            var writer = WireWriter()
            writer.u64(export.size)
            writer.u16(TransmissionFlags.advertised(for: export).rawValue)
            if !noZeroes { writer.append([UInt8](repeating: 0, count: 124)) }
            try NBDError.socket { () throws(SocketError) in try socket.write(writer.bytes) }
            return Choice(name: name, export: export)
        case OptionCode.abort:
            try? reply(OptionReplyType.ack)
            return Choice(name: "", export: nil)
        case OptionCode.list:
            guard data.isEmpty else {
                try fail(OptionReplyType.errorInvalid, "LIST takes no data")
                return nil
            }
            for name in exportNames() {
                var writer = WireWriter()
                writer.u32(UInt32(name.utf8.count))
                writer.append(name)
                try reply(OptionReplyType.server, writer.bytes)
            }
            try reply(OptionReplyType.ack)
        case OptionCode.info, OptionCode.go:
            guard let request = InfoRequest(data) else {
                try fail(OptionReplyType.errorInvalid, "bad INFO/GO data")
                return nil
            }
            guard let export = lookup(request.name) else {
                try fail(OptionReplyType.errorUnknown, "no export named \(request.name)")
                return nil
            }
            try reply(OptionReplyType.info, blockSizeInfo())
            var info = WireWriter()
            info.u16(InfoType.export)
            info.u64(export.size)
            info.u16(TransmissionFlags.advertised(for: export).rawValue)
            try reply(OptionReplyType.info, info.bytes)
            if request.requests.contains(InfoType.name) {
                var name = WireWriter()
                name.u16(InfoType.name)
                name.append(request.name)
                try reply(OptionReplyType.info, name.bytes)
            }
            try reply(OptionReplyType.ack)
            if option == OptionCode.go { return Choice(name: request.name, export: export) }
        case OptionCode.structuredReply:
            guard data.isEmpty, !structuredReplies else {
                try fail(OptionReplyType.errorInvalid, "STRUCTURED_REPLY takes no data and is negotiated once")
                return nil
            }
            structuredReplies = true
            try reply(OptionReplyType.ack)
        case OptionCode.listMetaContext, OptionCode.setMetaContext:
            try handleMetaContext(option, data: data, reply: reply, fail: fail)
        default:
            try fail(OptionReplyType.errorUnsupported, "option \(option) unsupported")
        }
        return nil
    }

    private func handleMetaContext(
        _ option: UInt32, data: [UInt8], reply: (UInt32, [UInt8]) throws(NBDError) -> Void,
        fail: (UInt32, String) throws(NBDError) -> Void
    ) throws(NBDError) {
        let isSet = option == OptionCode.setMetaContext
        if isSet { allocationContextExport = nil }
        guard let request = MetaContextRequest(data) else {
            try fail(OptionReplyType.errorInvalid, "bad meta context data")
            return
        }
        guard !isSet || structuredReplies else {
            try fail(OptionReplyType.errorInvalid, "SET_META_CONTEXT needs structured replies")
            return
        }
        guard lookup(request.name) != nil else {
            try fail(OptionReplyType.errorUnknown, "no export named \(request.name)")
            return
        }
        let matches = request.queries.contains { $0 == allocationContextName || (!isSet && $0 == "base:") }
        if matches || (!isSet && request.queries.isEmpty) {
            var writer = WireWriter()
            writer.u32(isSet ? allocationContextID : 0)
            writer.append(allocationContextName)
            try reply(OptionReplyType.metaContext, writer.bytes)
            if isSet { allocationContextExport = request.name }
        }
        try reply(OptionReplyType.ack, [])
    }

    /// `NBD_INFO_BLOCK_SIZE`: minimum 1 (any alignment is served), preferred 4 KiB, maximum 32 MiB.
    private func blockSizeInfo() -> [UInt8] {
        var writer = WireWriter()
        writer.u16(InfoType.blockSize)
        writer.u32(1)
        writer.u32(Self.preferredBlockSize)
        writer.u32(Self.maximumPayload)
        return writer.bytes
    }
}
