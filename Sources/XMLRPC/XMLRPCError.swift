/// Where in a document something was found: 1-based line and column (columns count Unicode
/// scalars), and the 0-based byte offset into the UTF-8 text.
public struct XMLSourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// The 1-based line number.
    public var line: Int
    /// The 1-based column, in Unicode scalars from the start of the line.
    public var column: Int
    /// The 0-based offset in bytes from the start of the document.
    public var byteOffset: Int

    /// A location; `line` and `column` are 1-based, `byteOffset` 0-based.
    public init(line: Int, column: Int, byteOffset: Int) {
        self.line = line
        self.column = column
        self.byteOffset = byteOffset
    }

    /// The location of byte `offset` in `bytes`, counting lines and scalars up to it.
    static func of(_ offset: Int, in bytes: [UInt8]) -> XMLSourceLocation {
        var line = 1
        var column = 1
        for byte in bytes[0..<min(max(offset, 0), bytes.count)] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return XMLSourceLocation(line: line, column: column, byteOffset: offset)
    }

    public var description: String { "line \(line), column \(column)" }
}

/// Everything that can be wrong with an XML-RPC document: the XML itself (size, encoding,
/// characters, well-formedness, nesting) and its XML-RPC shape (root, required elements, value
/// syntax). Each case says what was wrong and where.
public enum XMLRPCError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The document is larger than `XMLRPCLimits.maxBytes`; nothing was parsed.
    case documentTooLarge(byteCount: Int, limit: Int)
    /// The document holds no element at all.
    case emptyDocument
    /// A byte sequence that is not UTF-8 (truncated, overlong, a surrogate, beyond U+10FFFF);
    /// the location's byte offset is that of the sequence's first byte.
    case invalidUTF8(at: XMLSourceLocation)
    /// A character XML 1.0 forbids (a control character, U+FFFE, U+FFFF), written raw or as a
    /// character reference; `scalar` is its code point.
    case illegalCharacter(scalar: UInt32, at: XMLSourceLocation)
    /// The XML is not well-formed; `problem` says how.
    case malformed(_ problem: String, at: XMLSourceLocation)
    /// The document ended while `expecting` something.
    case unexpectedEndOfDocument(expecting: String, at: XMLSourceLocation)
    /// An end tag that does not close the open element.
    case mismatchedEndTag(expected: String, found: String, at: XMLSourceLocation)
    /// Elements nested deeper than `XMLRPCLimits.maxDepth`.
    case nestingTooDeep(limit: Int, at: XMLSourceLocation)
    /// More elements than `XMLRPCLimits.maxElements`.
    case tooManyElements(limit: Int, at: XMLSourceLocation)
    /// A `<!DOCTYPE`: refused, so no entity can be declared or expanded.
    case doctypeNotAllowed(at: XMLSourceLocation)
    /// An entity reference other than the five XML predefines and character references.
    case unknownEntity(_ name: String, at: XMLSourceLocation)
    /// An XML declaration naming an encoding other than UTF-8 (or its subset US-ASCII).
    case unsupportedEncoding(_ name: String, at: XMLSourceLocation)
    /// The root element is not the one the message needs (`methodCall`, `methodResponse`).
    case wrongRootElement(expected: String, found: String, at: XMLSourceLocation)
    /// A required element is absent from `parent`.
    case missingElement(_ name: String, in: String, at: XMLSourceLocation)
    /// An element that XML-RPC does not allow inside `parent`.
    case unexpectedElement(_ name: String, in: String, at: XMLSourceLocation)
    /// Non-whitespace text inside `element`, which may hold only elements.
    case unexpectedText(in: String, at: XMLSourceLocation)
    /// The text of a typed value does not parse as that type (`int`, `boolean`, `double`,
    /// `base64`, `methodName`).
    case invalidValue(type: String, text: String, at: XMLSourceLocation)
    /// Two members of one struct with the same name.
    case duplicateMember(_ name: String, at: XMLSourceLocation)
    /// A fault whose value is not a struct with an int `faultCode` and a string `faultString`.
    case invalidFault(_ problem: String, at: XMLSourceLocation)

    public var description: String {
        switch self {
        case .documentTooLarge(let byteCount, let limit):
            return "XML-RPC document too large: \(byteCount) bytes, limit \(limit)"
        case .emptyDocument:
            return "XML-RPC document is empty: no root element"
        case .invalidUTF8(let at):
            return "invalid UTF-8 at byte offset \(at.byteOffset) (\(at))"
        case .illegalCharacter(let scalar, let at):
            return "character \(Self.codePoint(scalar)) is not allowed in XML 1.0, at \(at)"
        case .malformed(let problem, let at):
            return "malformed XML at \(at): \(problem)"
        case .unexpectedEndOfDocument(let expecting, let at):
            return "XML document ends at \(at) while expecting \(expecting)"
        case .mismatchedEndTag(let expected, let found, let at):
            return "mismatched end tag at \(at): expected </\(Self.clip(expected))>, found </\(Self.clip(found))>"
        case .nestingTooDeep(let limit, let at):
            return "XML elements nested deeper than \(limit) levels at \(at)"
        case .tooManyElements(let limit, let at):
            return "XML document has more than \(limit) elements, at \(at)"
        case .doctypeNotAllowed(let at):
            return "DOCTYPE declarations are not accepted in XML-RPC, at \(at)"
        case .unknownEntity(let name, let at):
            return "unknown entity &\(Self.clip(name)); at \(at)"
        case .unsupportedEncoding(let name, let at):
            return "unsupported XML encoding \"\(Self.clip(name))\" at \(at): only UTF-8 is accepted"
        case .wrongRootElement(let expected, let found, let at):
            return "XML-RPC root element is <\(Self.clip(found))> at \(at), expected <\(expected)>"
        case .missingElement(let name, let parent, let at):
            return "XML-RPC <\(parent)> at \(at) lacks <\(name)>"
        case .unexpectedElement(let name, let parent, let at):
            return "unexpected <\(Self.clip(name))> inside XML-RPC <\(Self.clip(parent))> at \(at)"
        case .unexpectedText(let element, let at):
            return "unexpected text inside XML-RPC <\(Self.clip(element))> at \(at)"
        case .invalidValue(let type, let text, let at):
            return "invalid XML-RPC \(type) \"\(Self.clip(text))\" at \(at)"
        case .duplicateMember(let name, let at):
            return "duplicate XML-RPC struct member \"\(Self.clip(name))\" at \(at)"
        case .invalidFault(let problem, let at):
            return "invalid XML-RPC fault at \(at): \(problem)"
        }
    }

    /// `U+0001` style.
    static func codePoint(_ scalar: UInt32) -> String {
        let hex = String(scalar, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// Hostile input can be huge; messages quote at most 64 characters of it.
    static func clip(_ text: String) -> String {
        text.count <= 64 ? text : String(text.prefix(64)) + "…"
    }
}
