/// Command types (NBD spec, "Request types").
public enum Command: UInt16, Sendable {
    case read = 0
    case write = 1
    case disconnect = 2
    case flush = 3
    case trim = 4
    case cache = 5
    case writeZeroes = 6
    case blockStatus = 7
}

/// Command flags (NBD spec, "Command flags").
public struct CommandFlags: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let fua = CommandFlags(rawValue: 1 << 0)
    public static let noHole = CommandFlags(rawValue: 1 << 1)
    public static let requestOne = CommandFlags(rawValue: 1 << 3)
}

/// A compact (28-byte) request header.
struct RequestHeader: Equatable, Sendable {
    static let magic: UInt32 = 0x2560_9513
    static let size = 28

    var flags: UInt16
    var type: UInt16
    var cookie: UInt64
    var offset: UInt64
    var length: UInt32

    /// Nil on a wrong magic: the stream is lost.
    init?(_ bytes: [UInt8]) {
        var reader = WireReader(bytes)
        guard reader.u32() == Self.magic, let flags = reader.u16(), let type = reader.u16(),
            let cookie = reader.u64(), let offset = reader.u64(), let length = reader.u32()
        else { return nil }
        self.flags = flags
        self.type = type
        self.cookie = cookie
        self.offset = offset
        self.length = length
    }

    init(flags: UInt16, type: UInt16, cookie: UInt64, offset: UInt64, length: UInt32) {
        self.flags = flags
        self.type = type
        self.cookie = cookie
        self.offset = offset
        self.length = length
    }

    func encoded() -> [UInt8] {
        var writer = WireWriter()
        writer.u32(Self.magic)
        writer.u16(flags)
        writer.u16(type)
        writer.u64(cookie)
        writer.u64(offset)
        writer.u32(length)
        return writer.bytes
    }
}
