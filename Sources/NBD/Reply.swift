/// Simple and structured reply encoders (NBD spec, "Simple reply message", "Structured reply chunk").
enum Reply {
    static let simpleMagic: UInt32 = 0x6744_6698
    static let structuredMagic: UInt32 = 0x668e_33ef
    /// `NBD_REPLY_FLAG_DONE`.
    static let done: UInt16 = 1

    enum ChunkType {
        static let none: UInt16 = 0
        static let offsetData: UInt16 = 1
        static let offsetHole: UInt16 = 2
        static let blockStatus: UInt16 = 5
        static let error: UInt16 = 0x8001
    }

    /// A 16-byte simple reply header (data for a successful READ follows separately).
    static func simple(cookie: UInt64, error: UInt32) -> [UInt8] {
        var writer = WireWriter()
        writer.u32(simpleMagic)
        writer.u32(error)
        writer.u64(cookie)
        return writer.bytes
    }

    /// A 20-byte structured chunk header for a payload of `length` bytes.
    static func chunkHeader(cookie: UInt64, type: UInt16, flags: UInt16, length: UInt32) -> [UInt8] {
        var writer = WireWriter()
        writer.u32(structuredMagic)
        writer.u16(flags)
        writer.u16(type)
        writer.u64(cookie)
        writer.u32(length)
        return writer.bytes
    }

    /// A final `NBD_REPLY_TYPE_ERROR` chunk; the message is cut to 200 bytes (qemu's 1000-byte limit).
    static func errorChunk(cookie: UInt64, error: UInt32, message: String) -> [UInt8] {
        let text = Array(message.utf8.prefix(200))
        var writer = WireWriter()
        writer.append(chunkHeader(cookie: cookie, type: ChunkType.error, flags: done, length: UInt32(6 + text.count)))
        writer.u32(error)
        writer.u16(UInt16(text.count))
        writer.append(text)
        return writer.bytes
    }

    /// A final `NBD_REPLY_TYPE_NONE` chunk.
    static func noneChunk(cookie: UInt64) -> [UInt8] {
        chunkHeader(cookie: cookie, type: ChunkType.none, flags: done, length: 0)
    }

    /// A final `NBD_REPLY_TYPE_OFFSET_HOLE` chunk.
    static func holeChunk(cookie: UInt64, offset: UInt64, length: UInt32) -> [UInt8] {
        var writer = WireWriter()
        writer.append(chunkHeader(cookie: cookie, type: ChunkType.offsetHole, flags: done, length: 12))
        writer.u64(offset)
        writer.u32(length)
        return writer.bytes
    }

    /// A final `NBD_REPLY_TYPE_BLOCK_STATUS` chunk for one context.
    static func blockStatusChunk(cookie: UInt64, context: UInt32, extents: [Extent]) -> [UInt8] {
        var writer = WireWriter()
        let length = UInt32(4 + 8 * extents.count)
        writer.append(chunkHeader(cookie: cookie, type: ChunkType.blockStatus, flags: done, length: length))
        writer.u32(context)
        for extent in extents {
            writer.u32(extent.length)
            writer.u32(extent.flags.rawValue)
        }
        return writer.bytes
    }
}
