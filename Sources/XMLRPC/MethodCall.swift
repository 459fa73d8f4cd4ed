/// An XML-RPC `<methodCall>`: a method name and positional parameters.
public struct MethodCall: Hashable, Sendable {
    /// The method, e.g. `vdi_create`.
    public var methodName: String
    /// The parameters, in order.
    public var params: [XMLRPCValue]

    /// A call of `methodName` with `params`.
    public init(methodName: String, params: [XMLRPCValue] = []) {
        self.methodName = methodName
        self.params = params
    }

    /// Decodes a `<methodCall>` document.
    ///
    /// - Parameters:
    ///   - text: The whole document.
    ///   - limits: Size, depth and element-count bounds.
    /// - Throws: `XMLRPCError` naming what was wrong and where: bad XML, a root other than
    ///   `methodCall`, a missing or empty `methodName`, a malformed value.
    public init(decoding text: String, limits: XMLRPCLimits = .default) throws(XMLRPCError) {
        guard text.utf8.count <= limits.maxBytes else {
            throw .documentTooLarge(byteCount: text.utf8.count, limit: limits.maxBytes)
        }
        try self.init(decoding: Array(text.utf8), limits: limits)
    }

    /// Decodes a `<methodCall>` document from its bytes, which must be UTF-8.
    public init(decoding bytes: [UInt8], limits: XMLRPCLimits = .default) throws(XMLRPCError) {
        let tree = try XMLTree(parsing: bytes, limits: limits)
        let decoder = XMLRPCValueDecoder(tree: tree)
        let root = tree.root
        guard root.localName == "methodCall" else {
            throw .wrongRootElement(expected: "methodCall", found: root.name, at: tree.location(root.offset))
        }
        try decoder.requireNoText(in: root)
        var name: String?
        var params: [XMLRPCValue]?
        for childIndex in root.children {
            let child = tree.elements[childIndex]
            switch child.localName {
            case "methodName" where name == nil && params == nil:
                let text = try decoder.leafText(child).trimmingXMLWhitespace()
                guard !text.isEmpty else {
                    throw .missingElement("methodName", in: "methodCall", at: tree.location(child.offset))
                }
                guard text.utf8.allSatisfy(Self.isMethodNameByte) else {
                    throw .invalidValue(type: "methodName", text: text, at: tree.location(child.offset))
                }
                name = text
            case "params" where params == nil && name != nil:
                params = try decodeParams(child, decoder: decoder)
            default:
                throw decoder.unexpected(child, in: root)
            }
        }
        guard let name else { throw .missingElement("methodName", in: "methodCall", at: tree.location(root.offset)) }
        self.init(methodName: name, params: params ?? [])
    }

    /// This call as Python's `xmlrpc.client.dumps(params, methodName)` writes it, byte for byte.
    public func encoded() -> String {
        var output = pythonXMLHeader + "<methodCall>\n<methodName>"
        output += XMLCharacter.escaped(methodName)
        output += "</methodName>\n"
        encodeParams(params, into: &output)
        output += "</methodCall>\n"
        return output
    }

    /// XML-RPC's method-name alphabet: letters, digits, `_`, `.`, `:`, `/`.
    private static func isMethodNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"),
            UInt8(ascii: "/"):
            true
        default: false
        }
    }
}

/// `<params><param><value>…</value></param>…</params>`.
func decodeParams(_ params: XMLTree.Element, decoder: XMLRPCValueDecoder) throws(XMLRPCError) -> [XMLRPCValue] {
    let tree = decoder.tree
    try decoder.requireNoText(in: params)
    var values: [XMLRPCValue] = []
    for paramIndex in params.children {
        let param = tree.elements[paramIndex]
        guard param.localName == "param" else { throw decoder.unexpected(param, in: params) }
        try decoder.requireNoText(in: param)
        guard let valueIndex = param.children.first else {
            throw .missingElement("value", in: "param", at: tree.location(param.offset))
        }
        guard tree.elements[valueIndex].localName == "value" else {
            throw decoder.unexpected(tree.elements[valueIndex], in: param)
        }
        if param.children.count > 1 { throw decoder.unexpected(tree.elements[param.children[1]], in: param) }
        values.append(try decoder.value(at: valueIndex))
    }
    return values
}

/// Python's `<params>` block: each value inside `<param>\n…</param>\n`.
func encodeParams(_ params: [XMLRPCValue], into output: inout String) {
    output += "<params>\n"
    for param in params {
        output += "<param>\n"
        param.encode(into: &output)
        output += "</param>\n"
    }
    output += "</params>\n"
}
