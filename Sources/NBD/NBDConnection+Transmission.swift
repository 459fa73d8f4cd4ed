/// The transmission phase: requests in, replies out, one at a time and in order.
extension NBDConnection {
    func transmit(_ export: any NBDExport, contextSelected: Bool) throws(NBDError) {
        while true {
            guard let header = RequestHeader(try socket.read(exactly: RequestHeader.size)) else {
                throw .protocolViolation("bad request magic")
            }
            var payload: [UInt8] = []
            if header.type == Command.write.rawValue {
                // A payload that cannot be drained sensibly ends the connection (as qemu does).
                guard header.length <= Self.maximumPayload else {
                    try? sendError(header, errno: NBDErrno.einval, message: "payload over 32 MiB")
                    throw .protocolViolation("write payload \(header.length)")
                }
                payload = try socket.read(exactly: Int(header.length))
            }
            if header.type == Command.disconnect.rawValue {
                try? export.flush()
                return
            }
            do {
                try serve(header, payload: payload, export: export, contextSelected: contextSelected)
            } catch {
                // An export error is answered and the stream goes on; anything else ends it.
                guard case .export(let errno, let message) = error else { throw error }
                try sendError(header, errno: errno, message: message)
            }
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
            var message = Reply.simple(cookie: header.cookie, error: 0)
            let headerCount = message.count
            message += [UInt8](repeating: 0, count: Int(header.length))
            try message.withMutableWireBytes { (raw) throws(NBDError) in
                try export.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[headerCount...]), at: header.offset)
            }
            return try send(message)
        }
        try send(try structuredRead(header, range: range, export: export))
    }

    /// A structured READ reply: an `OFFSET_HOLE` chunk for each run that reads as zeroes, an
    /// `OFFSET_DATA` chunk for the rest, all read before anything is sent (so an error is one
    /// error chunk), DONE on the last.
    private func structuredRead(
        _ header: RequestHeader, range: Range<UInt64>, export: any NBDExport
    ) throws(NBDError) -> [UInt8] {
        var extents = (try? export.blockStatus(range)) ?? []
        if extents.reduce(UInt64(0), { $0 + UInt64($1.length) }) != UInt64(header.length)
            || extents.contains(where: { $0.length == 0 })
        {
            extents = [Extent(length: header.length, flags: [])]
        }
        var message: [UInt8] = []
        message.reserveCapacity(Int(header.length) + 32 * extents.count)
        var reads: [(index: Int, offset: UInt64, count: Int)] = []
        var offset = header.offset
        for (position, extent) in extents.enumerated() {
            let flags = position == extents.count - 1 ? Reply.done : 0
            var writer = WireWriter()
            if extent.flags.contains(.zero) {
                writer.append(
                    Reply.chunkHeader(cookie: header.cookie, type: Reply.ChunkType.offsetHole, flags: flags, length: 12)
                )
                writer.u64(offset)
                writer.u32(extent.length)
                message += writer.bytes
            } else {
                writer.append(
                    Reply.chunkHeader(
                        cookie: header.cookie, type: Reply.ChunkType.offsetData, flags: flags, length: 8 + extent.length
                    ))
                writer.u64(offset)
                message += writer.bytes
                reads.append((message.count, offset, Int(extent.length)))
                message += repeatElement(0, count: Int(extent.length))
            }
            offset += UInt64(extent.length)
        }
        try message.withMutableWireBytes { (raw) throws(NBDError) in
            for read in reads {
                try export.read(
                    into: UnsafeMutableRawBufferPointer(rebasing: raw[read.index..<read.index + read.count]),
                    at: read.offset)
            }
        }
        return message
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

    /// Sends one whole reply message.
    func send(_ bytes: [UInt8]) throws(NBDError) {
        try socket.write(bytes)
    }
}
