import Sockets
@testable import NBD

/// A byte-level NBD client for driving the server with input no real client sends.
final class RawClient {
    let socket: StreamSocket
    private var cookie: UInt64 = 0

    init(_ path: String) throws {
        do {
            socket = try StreamSocket.unixStream()
        } catch {
            throw NBDError(error)
        }
        do { try socket.connect(path: path) } catch { throw NBDError(error) }  // on failure deinit closes the socket
    }

    private var isOpen = true

    deinit { close() }

    /// Closes the client's socket once (a second close could hit a reused descriptor).
    func close() {
        if isOpen { socket.close() }
        isOpen = false
    }

    /// Reads the 18-byte greeting and sends `flags`.
    func greet(flags: UInt32 = 3) throws {
        let greeting = try socket.read(exactly: 18)
        precondition(greeting == Handshake.greeting(), "unexpected greeting")
        var writer = WireWriter()
        writer.u32(flags)
        try socket.write(writer.bytes)
    }

    func sendOption(_ option: UInt32, _ data: [UInt8] = [], magic: UInt64 = Handshake.optionMagic) throws {
        var writer = WireWriter()
        writer.u64(magic)
        writer.u32(option)
        writer.u32(UInt32(data.count))
        writer.append(data)
        try socket.write(writer.bytes)
    }

    /// One option reply: its type and data.
    func optionReply() throws -> (type: UInt32, data: [UInt8]) {
        var reader = WireReader(try socket.read(exactly: 20))
        precondition(reader.u64() == optionReplyMagic)
        _ = reader.u32()
        let type = reader.u32() ?? 0
        let length = reader.u32() ?? 0
        return (type, try socket.read(exactly: Int(length)))
    }

    /// Replies until the final one (ACK or an error); returns every reply type seen.
    func optionReplies() throws -> [UInt32] {
        var types: [UInt32] = []
        while true {
            let reply = try optionReply()
            types.append(reply.type)
            if reply.type == OptionReplyType.ack || reply.type & 0x8000_0000 != 0 { return types }
        }
    }

    static func nameData(_ name: String, extra: [UInt8] = [0, 0]) -> [UInt8] {
        var writer = WireWriter()
        writer.u32(UInt32(name.utf8.count))
        writer.append(name)
        writer.append(extra)
        return writer.bytes
    }

    /// STRUCTURED_REPLY (optionally), SET_META_CONTEXT base:allocation (with structured), GO.
    func connect(to export: String, structured: Bool) throws -> [UInt32] {
        try greet()
        if structured {
            try sendOption(OptionCode.structuredReply)
            _ = try optionReplies()
            var query = WireWriter()
            query.u32(1)
            query.u32(UInt32(allocationContextName.utf8.count))
            query.append(allocationContextName)
            try sendOption(OptionCode.setMetaContext, Self.nameData(export, extra: query.bytes))
            _ = try optionReplies()
        }
        try sendOption(OptionCode.go, Self.nameData(export))
        return try optionReplies()
    }

    /// Sends a request; returns its cookie.
    @discardableResult
    func request(
        _ type: UInt16, flags: UInt16 = 0, offset: UInt64, length: UInt32, payload: [UInt8] = []
    ) throws
        -> UInt64
    {
        cookie += 1
        let header = RequestHeader(flags: flags, type: type, cookie: cookie, offset: offset, length: length)
        try socket.write(header.encoded() + payload)
        return cookie
    }

    /// A simple reply: its error and cookie.
    func simpleReply() throws -> (error: UInt32, cookie: UInt64) {
        var reader = WireReader(try socket.read(exactly: 16))
        precondition(reader.u32() == Reply.simpleMagic, "not a simple reply")
        return (reader.u32() ?? 0, reader.u64() ?? 0)
    }

    /// One structured chunk: flags, type, cookie, payload.
    func chunk() throws -> (flags: UInt16, type: UInt16, cookie: UInt64, payload: [UInt8]) {
        var reader = WireReader(try socket.read(exactly: 20))
        precondition(reader.u32() == Reply.structuredMagic, "not a structured chunk")
        let flags = reader.u16() ?? 0
        let type = reader.u16() ?? 0
        let cookie = reader.u64() ?? 0
        let length = reader.u32() ?? 0
        return (flags, type, cookie, try socket.read(exactly: Int(length)))
    }

    /// Whether the server has closed the connection (a read gets end of stream).
    func isClosedByServer() -> Bool {
        do {
            _ = try socket.read(exactly: 1)
            return false
        } catch {
            return true
        }
    }

    /// A structured READ reassembled from its chunks, with the chunk types seen.
    func structuredRead(offset: UInt64, length: UInt32) throws -> (data: [UInt8], types: [UInt16]) {
        let cookie = try request(Command.read.rawValue, offset: offset, length: length)
        var data = [UInt8](repeating: 0xff, count: Int(length))
        var types: [UInt16] = []
        while true {
            let chunk = try self.chunk()
            precondition(chunk.cookie == cookie, "a chunk for another request")
            types.append(chunk.type)
            var reader = WireReader(chunk.payload)
            if chunk.type == Reply.ChunkType.offsetData {
                let start = Int((reader.u64() ?? 0) - offset)
                data.replaceSubrange(start..<start + reader.remaining, with: reader.bytes(reader.remaining) ?? [])
            } else if chunk.type == Reply.ChunkType.offsetHole {
                let start = Int((reader.u64() ?? 0) - offset)
                let count = Int(reader.u32() ?? 0)
                data.replaceSubrange(start..<start + count, with: repeatElement(0, count: count))
            }
            if chunk.flags & Reply.done != 0 { return (data, types) }
        }
    }
}
