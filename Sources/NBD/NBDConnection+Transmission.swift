import Sockets
/// The transmission phase: the connection's thread reads requests and either serves them itself,
/// in order, batching the replies (`requestsInFlight` 1), or hands them to a `RequestPipeline`,
/// which serves them concurrently. Each reply goes out whole under `sendLock`, in whatever
/// order requests finish (NBD spec, "Ordering").
extension NBDConnection {
    func transmit(_ export: any NBDExport, contextSelected: Bool) throws(NBDError) {
        let reader = SocketReader(socket)
        let pipeline = RequestPipeline(maximumRequests: requestsInFlight)
        // Requests still running reply on this socket: the caller closes it only after them,
        // or a reply could land on a reused descriptor.
        defer {
            pipeline.waitForAll()
            try? flushReplies()
        }
        while true {
            guard let header = RequestHeader(try reader.read(exactly: RequestHeader.size)) else {
                throw .protocolViolation("bad request magic")
            }
            var payload: [UInt8] = []
            if header.type == Command.write.rawValue {
                // A payload that cannot be drained sensibly ends the connection (as qemu does).
                guard header.length <= Self.maximumPayload else {
                    try? sendError(header, errno: NBDErrno.einval, message: "payload over 32 MiB")
                    throw .protocolViolation("write payload \(header.length)")
                }
                payload = try reader.read(exactly: Int(header.length))
            }
            if header.type == Command.disconnect.rawValue {
                pipeline.waitForAll()
                try? export.flush()
                return
            }
            // Once the server shuts down, requests already running finish; new ones are refused.
            if isShuttingDown() {
                try sendError(header, errno: NBDErrno.eshutdown, message: "server shutting down")
                if !reader.hasBufferedBytes { try flushReplies() }
                continue
            }
            guard requestsInFlight > 1 else {
                respond(to: header, payload: payload, export: export, contextSelected: contextSelected)
                // Held-back replies go out before the next read could wait for the client.
                if !reader.hasBufferedBytes || sendLock.withLock({ $0.count }) >= Self.batchedReplyLimit {
                    try flushReplies()
                }
                continue
            }
            let cost = header.type == Command.read.rawValue ? Int(min(header.length, Self.maximumPayload)) : payload.count
            pipeline.submit(cost: cost) { [self, payload] in
                respond(to: header, payload: payload, export: export, contextSelected: contextSelected)
            }
        }
    }

    /// Serves one request and sends its reply. An export error is answered and the stream goes
    /// on; anything else (a failed send) shuts the socket down, which ends the reading thread.
    private func respond(to header: RequestHeader, payload: [UInt8], export: any NBDExport, contextSelected: Bool) {
        do throws(NBDError) {
            do throws(NBDError) {
                try serve(header, payload: payload, export: export, contextSelected: contextSelected)
            } catch {
                guard case .export(let errno, let message) = error else { throw error }
                try sendError(header, errno: errno, message: message)
            }
        } catch {
            socket.shutdown()
        }
    }

    private func serve(
        _ header: RequestHeader, payload: [UInt8], export: any NBDExport, contextSelected: Bool
    ) throws(NBDError) {
        guard let command = Command(rawValue: header.type) else {
            throw .export(errno: NBDErrno.einval, message: "unknown command \(header.type)")
        }
        let flags = CommandFlags(rawValue: header.flags)
        var allowed: CommandFlags = [.fua]
        if command == .writeZeroes { allowed.insert(.noHole) }
        if command == .blockStatus { allowed.insert(.requestOne) }
        guard allowed.isSuperset(of: flags) else {
            throw .export(errno: NBDErrno.einval, message: "flags \(header.flags) not valid for \(command)")
        }
        let mutates = command == .write || command == .trim || command == .writeZeroes
        if mutates && export.isReadOnly {
            throw .export(errno: NBDErrno.eperm, message: "export is read-only")
        }
        let range: Range<UInt64>
        if command == .flush {
            range = 0..<0
        } else {
            guard header.offset <= export.size, UInt64(header.length) <= export.size - header.offset else {
                let errno = command == .write || command == .writeZeroes ? NBDErrno.enospc : NBDErrno.einval
                throw .export(errno: errno, message: "request past the end of the export (\(export.size) bytes)")
            }
            range = header.offset..<header.offset + UInt64(header.length)
        }
        switch command {
        case .read: return try serveRead(header, range: range, export: export)
        case .write:
            try payload.withWireBytes { (raw) throws(NBDError) in try export.write(raw, at: header.offset) }
        case .flush: try export.flush()
        case .trim: try export.trim(range)
        case .writeZeroes: try export.writeZeroes(range, keepAllocated: flags.contains(.noHole))
        case .cache, .disconnect: break
        case .blockStatus:
            return try serveBlockStatus(header, range: range, export: export, contextSelected: contextSelected)
        }
        if mutates && flags.contains(.fua) { try export.flush() }
        try send(Reply.simple(cookie: header.cookie, error: 0))
    }

    private func serveRead(_ header: RequestHeader, range: Range<UInt64>, export: any NBDExport) throws(NBDError) {
        guard header.length <= Self.maximumPayload else {
            throw .export(errno: NBDErrno.einval, message: "read over 32 MiB")
        }
        if structuredReplies && header.length == 0 {
            return try send(Reply.noneChunk(cookie: header.cookie))
        }
        guard structuredReplies else {
            let replyHeader = Reply.simple(cookie: header.cookie, error: 0)
            let message = try Self.message(count: replyHeader.count + Int(header.length)) { (raw) throws(NBDError) in
                raw.copyBytes(from: replyHeader)
                try export.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[replyHeader.count...]), at: header.offset)
            }
            return try send(message)
        }
        try send(try structuredRead(header, range: range, export: export))
    }

    /// A structured READ reply: an `OFFSET_HOLE` chunk for each run that reads as zeroes (reads
    /// above one page), an `OFFSET_DATA` chunk for the rest, DONE on the last. The data and
    /// its map come from one `readMapped` (one state of the disk), read straight into a
    /// one-chunk message; only a read with holes is re-cut into chunks. Everything is read
    /// before anything is sent, so an error is one error chunk.
    private func structuredRead(
        _ header: RequestHeader, range: Range<UInt64>, export: any NBDExport
    ) throws(NBDError) -> [UInt8] {
        // A hole chunk for a read of one page saves less copying than the allocation walk
        // costs (twice the layers of a deep chain): such reads go out as one data chunk.
        let mapping = header.length > Self.preferredBlockSize
        let chunkHeaderSize = 20 + 8
        var extents: [Extent] = []
        let whole = try Self.message(count: chunkHeaderSize + Int(header.length)) { (raw) throws(NBDError) in
            let chunk = Self.chunkHeader(header, type: Reply.ChunkType.offsetData, done: true, length: 8 + header.length, offset: header.offset)
            UnsafeMutableRawBufferPointer(rebasing: raw[..<chunk.count]).copyBytes(from: chunk)
            let data = UnsafeMutableRawBufferPointer(rebasing: raw[chunkHeaderSize...])
            if mapping {
                extents = try export.readMapped(into: data, at: header.offset)
            } else {
                try export.read(into: data, at: header.offset)
            }
        }
        let coversTheRead = extents.reduce(UInt64(0), { $0 + UInt64($1.length) }) == UInt64(header.length)
            && !extents.contains(where: { $0.length == 0 })
        guard coversTheRead, extents.contains(where: { $0.flags.contains(.zero) }) else { return whole }
        let total = extents.reduce(0) { $0 + chunkHeaderSize + ($1.flags.contains(.zero) ? 4 : Int($1.length)) }
        var message: [UInt8] = []
        message.reserveCapacity(total)
        var offset = header.offset
        var position = chunkHeaderSize
        for (index, extent) in extents.enumerated() {
            let isHole = extent.flags.contains(.zero)
            message += Self.chunkHeader(
                header, type: isHole ? Reply.ChunkType.offsetHole : Reply.ChunkType.offsetData,
                done: index == extents.count - 1, length: isHole ? 12 : 8 + extent.length, offset: offset)
            if isHole {
                var writer = WireWriter()
                writer.u32(extent.length)
                message += writer.bytes
            } else {
                message += whole[position..<position + Int(extent.length)]
            }
            position += Int(extent.length)
            offset += UInt64(extent.length)
        }
        return message
    }

    /// A chunk's header and its offset field.
    static func chunkHeader(_ header: RequestHeader, type: UInt16, done: Bool, length: UInt32, offset: UInt64) -> [UInt8] {
        var writer = WireWriter()
        writer.append(Reply.chunkHeader(cookie: header.cookie, type: type, flags: done ? Reply.done : 0, length: length))
        writer.u64(offset)
        return writer.bytes
    }

    /// A `count`-byte message filled by `fill`, without zeroing it first (a READ reply is
    /// mostly data about to be overwritten). `fill` must write every byte.
    static func message(
        count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(NBDError) -> Void
    ) throws(NBDError) -> [UInt8] {
        var failure: NBDError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(NBDError) {
                try fill(UnsafeMutableRawBufferPointer(buffer))
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    private func serveBlockStatus(
        _ header: RequestHeader, range: Range<UInt64>, export: any NBDExport, contextSelected: Bool
    ) throws(NBDError) {
        guard structuredReplies, contextSelected else {
            throw .export(errno: NBDErrno.einval, message: "no metadata context negotiated")
        }
        guard !range.isEmpty else { throw .export(errno: NBDErrno.einval, message: "zero-length block status") }
        var extents = try export.blockStatus(range).filter { $0.length > 0 }
        guard !extents.isEmpty else { throw .export(errno: NBDErrno.eio, message: "no extents") }
        if CommandFlags(rawValue: header.flags).contains(.requestOne) {
            extents = [Extent(length: min(extents[0].length, header.length), flags: extents[0].flags)]
        } else if extents.count > 1 << 16 {
            extents = Array(extents.prefix(1 << 16))
        }
        try send(Reply.blockStatusChunk(cookie: header.cookie, context: allocationContextID, extents: extents))
    }

    /// The error reply for `header`: an error chunk once structured replies are on, else simple.
    func sendError(_ header: RequestHeader, errno: UInt32, message: String) throws(NBDError) {
        if structuredReplies {
            try send(Reply.errorChunk(cookie: header.cookie, error: errno, message: message))
        } else {
            try send(Reply.simple(cookie: header.cookie, error: errno))
        }
    }

    /// The largest reply held back to go out with others: bigger ones are sent at once.
    static let batchedReplyLimit = 64 << 10

    /// Sends one whole reply message; replies of concurrent requests never interleave.
    ///
    /// When requests are served in order on the reading thread (`requestsInFlight` 1), small
    /// replies are held back while more requests are already buffered, and go out together in
    /// one `send` by `flushReplies()`: a client pipelining 32 requests then costs one system call
    /// and one wake-up, not 32.
    func send(_ bytes: [UInt8]) throws(NBDError) {
        try sendLock.withLock { (held) throws(NBDError) in
            if requestsInFlight == 1 && bytes.count <= Self.batchedReplyLimit {
                held += bytes
                return
            }
            if !held.isEmpty {
                try NBDError.socket { () throws(SocketError) in try socket.write(held) }
                held.removeAll(keepingCapacity: true)
            }
            try NBDError.socket { () throws(SocketError) in try socket.write(bytes) }
        }
    }

    /// Sends the replies `send` held back.
    func flushReplies() throws(NBDError) {
        try sendLock.withLock { (held) throws(NBDError) in
            guard !held.isEmpty else { return }
            try NBDError.socket { () throws(SocketError) in try socket.write(held) }
            held.removeAll(keepingCapacity: true)
        }
    }
}
