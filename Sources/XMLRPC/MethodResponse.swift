/// An XML-RPC fault: a numeric code and a message. SM puts its error-catalogue number in the
/// code (`144` for `VDIMissing`) and the description with `[opterr=…]` in the string.
public struct XMLRPCFault: Error, Hashable, Sendable, CustomStringConvertible {
    /// `faultCode`, an XML-RPC `<int>`.
    public var code: Int32
    /// `faultString`.
    public var string: String

    /// A fault with `code` and `string`.
    public init(code: Int32, string: String) {
        self.code = code
        self.string = string
    }

    public var description: String { "XML-RPC fault \(code): \(string)" }
}

/// An XML-RPC `<methodResponse>`: parameters on success, or a fault.
public enum MethodResponse: Hashable, Sendable {
    /// Success with these values (SM always returns exactly one).
    case params([XMLRPCValue])
    /// Failure.
    case fault(XMLRPCFault)

    /// Decodes a `<methodResponse>` document.
    ///
    /// - Throws: `XMLRPCError` naming what was wrong and where: bad XML, a root other than
    ///   `methodResponse`, neither or both of `params` and `fault`, a fault without an int
    ///   `faultCode` or a string `faultString`.
    public init(decoding text: String, limits: XMLRPCLimits = .default) throws(XMLRPCError) {
        guard text.utf8.count <= limits.maxBytes else {
            throw .documentTooLarge(byteCount: text.utf8.count, limit: limits.maxBytes)
        }
        try self.init(decoding: Array(text.utf8), limits: limits)
    }

    /// Decodes a `<methodResponse>` document from its bytes, which must be UTF-8.
    public init(decoding bytes: [UInt8], limits: XMLRPCLimits = .default) throws(XMLRPCError) {
        let tree = try XMLTree(parsing: bytes, limits: limits)
        let decoder = XMLRPCValueDecoder(tree: tree)
        let root = tree.root
        guard root.localName == "methodResponse" else {
            throw .wrongRootElement(expected: "methodResponse", found: root.name, at: tree.location(root.offset))
        }
        try decoder.requireNoText(in: root)
        guard let bodyIndex = root.children.first else {
            throw .missingElement("params", in: "methodResponse", at: tree.location(root.offset))
        }
        if root.children.count > 1 { throw decoder.unexpected(tree.elements[root.children[1]], in: root) }
        let body = tree.elements[bodyIndex]
        switch body.localName {
        case "params":
            self = .params(try decodeParams(body, decoder: decoder))
        case "fault":
            self = .fault(try Self.decodeFault(body, decoder: decoder))
        default:
            throw decoder.unexpected(body, in: root)
        }
    }

    private static func decodeFault(_ fault: XMLTree.Element, decoder: XMLRPCValueDecoder) throws(XMLRPCError)
        -> XMLRPCFault
    {
        let tree = decoder.tree
        try decoder.requireNoText(in: fault)
        guard let valueIndex = fault.children.first else {
            throw .missingElement("value", in: "fault", at: tree.location(fault.offset))
        }
        guard tree.elements[valueIndex].localName == "value" else {
            throw decoder.unexpected(tree.elements[valueIndex], in: fault)
        }
        if fault.children.count > 1 { throw decoder.unexpected(tree.elements[fault.children[1]], in: fault) }
        let location = tree.location(fault.offset)
        let value = try decoder.value(at: valueIndex)
        guard case .struct = value else {
            throw .invalidFault("the fault value is a \(value.typeName), not a struct", at: location)
        }
        guard case .int(let code)? = value[member: "faultCode"] else {
            throw .invalidFault("faultCode is missing or not an int", at: location)
        }
        guard let code32 = Int32(exactly: code) else {
            throw .invalidFault("faultCode \(code) does not fit in 32 bits", at: location)
        }
        guard case .string(let string)? = value[member: "faultString"] else {
            throw .invalidFault("faultString is missing or not a string", at: location)
        }
        return XMLRPCFault(code: code32, string: string)
    }

    /// This response as Python's `xmlrpc.client.dumps(…, methodresponse=True, allow_none=True)`
    /// writes it, byte for byte (no trailing blank line: that comes from SM's `print`).
    public func encoded() -> String {
        var output = pythonXMLHeader + "<methodResponse>\n"
        switch self {
        case .params(let params):
            encodeParams(params, into: &output)
        case .fault(let fault):
            output += "<fault>\n"
            XMLRPCValue.struct([
                .init("faultCode", .int(Int64(fault.code))), .init("faultString", .string(fault.string)),
            ]).encode(into: &output)
            output += "</fault>\n"
        }
        output += "</methodResponse>\n"
        return output
    }
}
