/// Option numbers (NBD spec, "Option types").
public enum OptionCode {
    public static let exportName: UInt32 = 1
    public static let abort: UInt32 = 2
    public static let list: UInt32 = 3
    public static let info: UInt32 = 6
    public static let go: UInt32 = 7
    public static let structuredReply: UInt32 = 8
    public static let listMetaContext: UInt32 = 9
    public static let setMetaContext: UInt32 = 10
}

/// Option reply types (NBD spec, "Option reply types").
public enum OptionReplyType {
    public static let ack: UInt32 = 1
    public static let server: UInt32 = 2
    public static let info: UInt32 = 3
    public static let metaContext: UInt32 = 4
    public static let errorUnsupported: UInt32 = 0x8000_0001
    public static let errorPolicy: UInt32 = 0x8000_0002
    public static let errorInvalid: UInt32 = 0x8000_0003
    public static let errorUnknown: UInt32 = 0x8000_0006
    public static let errorShutdown: UInt32 = 0x8000_0007
}

/// Info item types for `NBD_REP_INFO`.
public enum InfoType {
    public static let export: UInt16 = 0
    public static let name: UInt16 = 1
    public static let description: UInt16 = 2
    public static let blockSize: UInt16 = 3
}

/// The magic opening every option reply.
let optionReplyMagic: UInt64 = 0x0003_e889_0455_65a9
/// The one metadata context served, and its ID.
let allocationContextName = "base:allocation"
let allocationContextID: UInt32 = 1
/// The largest option payload accepted before the stream is considered hostile.
let maximumOptionLength: UInt32 = 64 << 10
/// The largest name the spec allows.
let maximumNameLength: UInt32 = 4096

/// An option reply: magic, echoed option, reply type, data length, data.
func optionReply(_ option: UInt32, type: UInt32, data: [UInt8] = []) -> [UInt8] {
    var writer = WireWriter()
    writer.u64(optionReplyMagic)
    writer.u32(option)
    writer.u32(type)
    writer.u32(UInt32(data.count))
    writer.append(data)
    return writer.bytes
}

/// The data of `NBD_OPT_INFO` / `NBD_OPT_GO`: an export name and the info items requested.
struct InfoRequest: Equatable {
    var name: String
    var requests: [UInt16]

    /// Nil when the inner lengths disagree with the option length (`ERR_INVALID`).
    init?(_ data: [UInt8]) {
        var reader = WireReader(data)
        guard let length = reader.u32(), length <= maximumNameLength, let name = reader.string(Int(length)),
            let count = reader.u16(), reader.remaining == 2 * Int(count)
        else { return nil }
        self.name = name
        requests = (0..<Int(count)).compactMap { _ in reader.u16() }
    }
}

/// The data of `NBD_OPT_LIST_META_CONTEXT` / `NBD_OPT_SET_META_CONTEXT`: an export name and queries.
struct MetaContextRequest: Equatable {
    var name: String
    var queries: [String]

    init?(_ data: [UInt8]) {
        var reader = WireReader(data)
        guard let length = reader.u32(), length <= maximumNameLength, let name = reader.string(Int(length)),
            let count = reader.u32()
        else { return nil }
        var queries: [String] = []
        for _ in 0..<count {
            guard let queryLength = reader.u32(), queryLength <= maximumNameLength,
                let query = reader.string(Int(queryLength))
            else { return nil }
            queries.append(query)
        }
        guard reader.remaining == 0 else { return nil }
        self.name = name
        self.queries = queries
    }
}
