import VHD

/// The one error of the SM core: a catalogue code, SM's optional detail (`opterr`), and the
/// lower-layer error that caused it, for logs.
///
/// The toolstack sees `code.number` as the XML-RPC fault code and `faultString` as the fault
/// string, built exactly as SM's `xs_errors.XenError` builds it:
///
/// ```swift
/// SRError(.vdiMissing).faultString                    // "VDI could not be found"
/// SRError(.vdiMissing, opterr: "x").faultString       // "VDI could not be found [opterr=x]"
/// ```
public struct SRError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The catalogue entry: fault number and description.
    public var code: SRErrorCode
    /// SM's optional detail, appended to the description as ` [opterr=<opterr>]`.
    public var opterr: String?
    /// What a lower layer reported (an errno, a VHD error), for logs; never part of the fault.
    public var cause: String?
    /// A fault string that replaces the catalogue's, for the two places SM raises a bare
    /// `Fault(code, text)`: an unknown catalogue key and an untranslated exception.
    public var verbatimFaultString: String?

    /// An error with catalogue entry `code`.
    ///
    /// - Parameters:
    ///   - code: The catalogue entry.
    ///   - opterr: SM's detail, shown to users after the description.
    ///   - cause: The lower-layer error, for logs.
    public init(_ code: SRErrorCode, opterr: String? = nil, cause: String? = nil) {
        self.code = code
        self.opterr = opterr
        self.cause = cause
        self.verbatimFaultString = nil
    }

    /// An error with catalogue entry `code`; the labelled spelling of `init(_:opterr:cause:)`.
    public init(code: SRErrorCode, opterr: String? = nil, cause: String? = nil) {
        self.init(code, opterr: opterr, cause: cause)
    }

    /// SM's `XenError(key, opterr)`: the catalogue entry named `key`, or, for a key the
    /// catalogue lacks, code 1 with SM's `Error reporting error, unknown key <key>` (SM drops
    /// the opterr in that case, and so does this).
    public static func named(_ key: String, opterr: String? = nil) -> SRError {
        if let code = SRErrorCode.named(key) { return SRError(code, opterr: opterr) }
        var error = SRError(.invalidArg, cause: opterr)
        error.verbatimFaultString = "Error reporting error, unknown key \(key)"
        return error
    }

    /// SM's reply to an exception nothing translated: `Fault(1200, str(e))`, whose fault
    /// string is the exception's text alone.
    public static func genericException(_ message: String) -> SRError {
        var error = SRError(.genericException)
        error.verbatimFaultString = message
        return error
    }

    /// SM's reply when `command` fails inside the driver with a tool or internal error: the
    /// command's default code (`SRErrorCode.forFailedCommand`) with `reason` as the opterr.
    public static func failedCommand(_ command: String, reason: String, cause: String? = nil) -> SRError {
        SRError(.forFailedCommand(command), opterr: reason, cause: cause)
    }

    /// The XML-RPC fault code: `code.number`.
    public var faultCode: Int32 { code.number }

    /// The XML-RPC fault string: `<description> [opterr=<opterr>]` when there is an opterr,
    /// else the description alone (SM's `XenError`).
    public var faultString: String {
        if let verbatimFaultString { return verbatimFaultString }
        guard let opterr else { return code.description }
        return "\(code.description) [opterr=\(opterr)]"
    }

    public var description: String {
        let base = "SR error \(code.number) (\(code.name)): \(faultString)"
        guard let cause else { return base }
        return "\(base) (cause: \(cause))"
    }
}

extension SRError {
    /// Maps a VHD engine failure during SMAPI `command` (`vdi_snapshot`, `vdi_resize`, …) to
    /// the code SM would report, with the VHD error's text as the opterr.
    ///
    /// - A missing image: `VDIMissing` (144).
    /// - No space (a full volume, `ENOSPC`/`EDQUOT` from the storage or from a rolled-back
    ///   operation): `SRNoSpace` (44).
    /// - A chain deeper than the limit: `SnapshotChainTooLong` (109).
    /// - A size out of range or an invalid argument during `vdi_resize`/`vdi_resize_online`:
    ///   `VDISize` (79).
    /// - Anything else: the command's default code (`SRErrorCode.forFailedCommand`).
    public init(vhd error: VHDError, command: String) {
        let code: SRErrorCode
        let isResize = command == "vdi_resize" || command == "vdi_resize_online"
        switch error {
        case .notFound: code = .vdiMissing
        case .noSpace: code = .srNoSpace
        case .chainTooDeep: code = .snapshotChainTooLong
        case .outOfRange where isResize, .invalidArgument where isResize: code = .vdiSize
        case .io(let io) where SRError.isNoSpace(io.errno): code = .srNoSpace
        case .rolledBack(_, _, let causeErrno) where SRError.isNoSpace(causeErrno): code = .srNoSpace
        default: code = .forFailedCommand(command)
        }
        self.init(code, opterr: error.description, cause: "VHD engine, errno \(error.errno)")
    }

    /// Whether `errno` means the storage is full: `ENOSPC` (28) or `EDQUOT` (122).
    static func isNoSpace(_ errno: Int32) -> Bool {
        errno == 28 || errno == 122
    }
}
