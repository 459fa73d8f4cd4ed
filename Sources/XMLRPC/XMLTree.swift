/// A parsed XML document as a flat arena of elements, so that neither building nor freeing it
/// recurses. Element 0 is the root. Attributes, comments and processing instructions are gone;
/// each element keeps its child elements and its own character data, concatenated.
struct XMLTree {
    struct Element {
        /// The qualified name as written (`ex:nil`).
        var name: String
        /// Byte offset of the element's `<`.
        var offset: Int
        /// Indices of child elements, in document order.
        var children: [Int] = []
        /// The element's own character data (entities resolved, line ends normalised).
        var text: [UInt8] = []
        /// Byte offset of the first non-whitespace character data, if there is any.
        var firstNonWhitespaceTextOffset: Int?

        /// The name without a namespace prefix: Python's `xmlrpc.client` reads `ex:nil` as `nil`.
        var localName: Substring {
            guard let colon = name.lastIndex(of: ":") else { return name[...] }
            return name[name.index(after: colon)...]
        }

        var textString: String { String(decoding: text, as: UTF8.self) }
    }

    /// The document's UTF-8 bytes, for turning offsets into line and column.
    let bytes: [UInt8]
    var elements: [Element]

    var root: Element { elements[0] }

    func location(_ offset: Int) -> XMLSourceLocation { .of(offset, in: bytes) }

    /// Parses `bytes` as an XML 1.0 document within `limits`.
    init(parsing bytes: [UInt8], limits: XMLRPCLimits) throws(XMLRPCError) {
        var scanner = XMLScanner(bytes: bytes, limits: limits)
        self.bytes = bytes
        self.elements = try scanner.scanDocument()
    }
}
