/// Fixed-newstyle handshake constants (NBD spec, "Newstyle negotiation").
public enum Handshake {
    /// `NBDMAGIC`, the first 8 bytes the server sends.
    public static let serverMagic: UInt64 = 0x4e42_444d_4147_4943
    /// `IHAVEOPT`: the second 8 bytes the server sends, and the start of every option request.
    public static let optionMagic: UInt64 = 0x4948_4156_454F_5054
    /// `NBD_FLAG_FIXED_NEWSTYLE` (handshake flags, bit 0).
    public static let fixedNewstyle: UInt16 = 1 << 0
    /// `NBD_FLAG_NO_ZEROES` (handshake flags, bit 1).
    public static let noZeroes: UInt16 = 1 << 1
    /// `NBD_FLAG_C_FIXED_NEWSTYLE` (client flags, bit 0).
    public static let clientFixedNewstyle: UInt32 = 1 << 0
    /// `NBD_FLAG_C_NO_ZEROES` (client flags, bit 1).
    public static let clientNoZeroes: UInt32 = 1 << 1

    /// The server's greeting: magic, `IHAVEOPT`, handshake flags (fixed newstyle, no zeroes).
    static func greeting() -> [UInt8] {
        var writer = WireWriter()
        writer.u64(serverMagic)
        writer.u64(optionMagic)
        writer.u16(fixedNewstyle | noZeroes)
        return writer.bytes
    }
}

/// Transmission flags (u16, in `NBD_INFO_EXPORT` or after `NBD_OPT_EXPORT_NAME`).
public struct TransmissionFlags: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let hasFlags = TransmissionFlags(rawValue: 1 << 0)
    public static let readOnly = TransmissionFlags(rawValue: 1 << 1)
    public static let sendFlush = TransmissionFlags(rawValue: 1 << 2)
    public static let sendFUA = TransmissionFlags(rawValue: 1 << 3)
    public static let sendTrim = TransmissionFlags(rawValue: 1 << 5)
    public static let sendWriteZeroes = TransmissionFlags(rawValue: 1 << 6)
    public static let canMultiConn = TransmissionFlags(rawValue: 1 << 8)

    /// What this server advertises for `export`: everything but writes on a read-only one.
    static func advertised(for export: any NBDExport) -> TransmissionFlags {
        var flags: TransmissionFlags = [.hasFlags, .sendFlush, .sendFUA, .canMultiConn]
        if export.isReadOnly { flags.insert(.readOnly) } else { flags.formUnion([.sendTrim, .sendWriteZeroes]) }
        return flags
    }
}
