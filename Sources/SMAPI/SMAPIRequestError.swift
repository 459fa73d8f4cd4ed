import SM
import XMLRPC

/// Why a toolstack request could not become an `SMAPIRequest`. Each case names the command
/// and the member or argument at fault; values quoted from the request are clipped.
///
/// `srError` maps every case to SM's fault: `IllegalXMLChar` (447) for a label or description
/// holding a character XML 1.0 forbids, `BadRequest` (143) for everything else, as SM's
/// `SRCommand.parse` does.
public enum SMAPIRequestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The argument is not a well-formed XML-RPC `methodCall`.
    case malformedXML(XMLRPCError)
    /// The method name is no SMAPIv1 command.
    case unknownCommand(String)
    /// The call does not have exactly one parameter.
    case wrongParameterCount(command: String, found: Int)
    /// The one parameter is not a struct.
    case parameterNotAStruct(command: String, found: String)
    /// The struct's `command` member differs from the method name.
    case commandMismatch(methodName: String, command: String)
    /// A member the command needs is absent (`device_config`, `sr_uuid`, `vdi_uuid`, `new_uuid`).
    case missingMember(String, command: SMAPICommand)
    /// A member (or a map entry, `device_config.device`, or an argument, `args[2]`) has the
    /// wrong XML-RPC type.
    case wrongMemberType(String, expected: String, found: String, command: SMAPICommand)
    /// A member whose text is not one of its allowed values (`vdi_on_boot`, `vdi_allow_caching`).
    case invalidMemberValue(String, value: String, expected: String, command: SMAPICommand)
    /// A member that becomes a file or volume name is not a lower-case uuid (`../x` lands here).
    case invalidUUID(member: String, value: String, command: SMAPICommand)
    /// `args` has the wrong length; `expected` names the arguments the command takes.
    case wrongArgumentCount(command: SMAPICommand, expected: [String], found: Int)
    /// A size argument is not an unsigned decimal integer that fits in 64 bits.
    case malformedNumber(command: SMAPICommand, argument: String, text: String)
    /// A flag argument is neither `true` nor `false`.
    case malformedBoolean(command: SMAPICommand, argument: String, text: String)
    /// A label or description holds a character XML 1.0 forbids (`scalar` is its code point).
    case illegalXMLCharacter(command: SMAPICommand, argument: String, scalar: UInt32)

    public var description: String {
        switch self {
        case .malformedXML(let error):
            return "request is not a valid XML-RPC methodCall: \(error)"
        case .unknownCommand(let name):
            return "unknown SMAPIv1 command \(Self.quoted(name))"
        case .wrongParameterCount(let command, let found):
            return "\(Self.clip(command)): expected one struct parameter, found \(found) parameters"
        case .parameterNotAStruct(let command, let found):
            return "\(Self.clip(command)): the parameter is a \(found), not a struct"
        case .commandMismatch(let methodName, let command):
            return "method \(Self.quoted(methodName)) carries command member \(Self.quoted(command))"
        case .missingMember(let member, let command):
            return "\(command.rawValue): the request lacks \(member)"
        case .wrongMemberType(let member, let expected, let found, let command):
            return "\(command.rawValue): \(Self.clip(member)) is a \(found), expected a \(expected)"
        case .invalidMemberValue(let member, let value, let expected, let command):
            return "\(command.rawValue): \(member) is \(Self.quoted(value)), expected \(expected)"
        case .invalidUUID(let member, let value, let command):
            return "\(command.rawValue): \(member) \(Self.quoted(value)) is not a uuid"
        case .wrongArgumentCount(let command, let expected, let found):
            let names = expected.isEmpty ? "none" : expected.joined(separator: ", ")
            return "\(command.rawValue): expected \(expected.count) arguments (\(names)), found \(found)"
        case .malformedNumber(let command, let argument, let text):
            return "\(command.rawValue): argument \(argument) \(Self.quoted(text)) is not a non-negative integer"
        case .malformedBoolean(let command, let argument, let text):
            return "\(command.rawValue): argument \(argument) \(Self.quoted(text)) is not true or false"
        case .illegalXMLCharacter(let command, let argument, let scalar):
            let hex = String(scalar, radix: 16, uppercase: true)
            let codePoint = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            return "\(command.rawValue): argument \(argument) contains \(codePoint), which XML 1.0 does not allow"
        }
    }

    /// SM's fault for this error: `IllegalXMLChar` (447) with SM's own explanation, or
    /// `BadRequest` (143) with this error's description as the detail.
    public var srError: SRError {
        if case .illegalXMLCharacter = self {
            return SRError(.illegalXMLChar, opterr: Self.illegalXMLCharExplanation, cause: description)
        }
        return SRError(.badRequest, opterr: description)
    }

    /// SM's `opterr` for `IllegalXMLChar`, verbatim (`SRCommand.py`, `vdi_create`).
    public static let illegalXMLCharExplanation =
        "The name and/or description you supplied contains one or more unsupported characters. "
        + "The name and/or description must contain valid XML characters. "
        + "See http://www.w3.org/TR/2004/REC-xml-20040204/#charsets for more information."

    /// Hostile input can be huge; messages quote at most 64 characters of it.
    static func clip(_ text: String) -> String {
        text.count <= 64 ? text : String(text.prefix(64)) + "…"
    }

    static func quoted(_ text: String) -> String { "\"" + clip(text) + "\"" }
}
