/// A small, non-recursive XML 1.0 scanner for the subset XML-RPC needs: UTF-8 only, no DOCTYPE
/// (so no entity declarations and no expansion attacks), attributes checked and dropped, the
/// five predefined entities and character references resolved. Every loop advances through the
/// input, so time is linear in its size; depth and element count are bounded by `limits`.
struct XMLScanner {
    private let bytes: [UInt8]
    private let limits: XMLRPCLimits
    private var index = 0
    private var elements: [XMLTree.Element] = []
    private var open: [Int] = []

    init(bytes: [UInt8], limits: XMLRPCLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    /// The document's elements, root first.
    mutating func scanDocument() throws(XMLRPCError) -> [XMLTree.Element] {
        guard bytes.count <= limits.maxBytes else {
            throw .documentTooLarge(byteCount: bytes.count, limit: limits.maxBytes)
        }
        try validateCharacters()
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        if hasPrefix("<?xml"), index + 5 < bytes.count, Self.isWhitespace(bytes[index + 5]) {
            try scanXMLDeclaration()
        }
        try scanMisc(before: true)
        guard index < bytes.count else { throw .emptyDocument }
        try scanStartTag()
        while !open.isEmpty {
            guard index < bytes.count else {
                throw .unexpectedEndOfDocument(
                    expecting: "</\(elements[open[open.count - 1]].name)>", at: location(index))
            }
            if bytes[index] == UInt8(ascii: "<") {
                try scanMarkup()
            } else {
                try scanCharacterData()
            }
        }
        try scanMisc(before: false)
        return elements
    }

    // MARK: Characters

    /// One pass over the whole input: strict UTF-8, and only characters XML 1.0 allows. After
    /// it, every byte at or above 0x80 belongs to a valid multi-byte scalar.
    private func validateCharacters() throws(XMLRPCError) {
        var i = 0
        let count = bytes.count
        while i < count {
            let lead = bytes[i]
            if lead < 0x80 {
                guard lead >= 0x20 || lead == 0x09 || lead == 0x0A || lead == 0x0D else {
                    throw .illegalCharacter(scalar: UInt32(lead), at: location(i))
                }
                i += 1
                continue
            }
            let length: Int
            var scalar: UInt32
            let minimum: UInt32
            switch lead {
            case 0xC2...0xDF: (length, scalar, minimum) = (2, UInt32(lead & 0x1F), 0x80)
            case 0xE0...0xEF: (length, scalar, minimum) = (3, UInt32(lead & 0x0F), 0x800)
            case 0xF0...0xF4: (length, scalar, minimum) = (4, UInt32(lead & 0x07), 0x10000)
            default: throw .invalidUTF8(at: location(i))
            }
            guard i + length <= count else { throw .invalidUTF8(at: location(i)) }
            for k in 1..<length {
                let byte = bytes[i + k]
                guard byte & 0xC0 == 0x80 else { throw .invalidUTF8(at: location(i)) }
                scalar = scalar << 6 | UInt32(byte & 0x3F)
            }
            guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else {
                throw .invalidUTF8(at: location(i))
            }
            guard XMLCharacter.isLegal(codePoint: scalar) else {
                throw .illegalCharacter(scalar: scalar, at: location(i))
            }
            i += length
        }
    }

    // MARK: Prolog and epilog

    /// `<?xml version="1.0" encoding="..."?>`: only the encoding matters.
    private mutating func scanXMLDeclaration() throws(XMLRPCError) {
        let start = index
        guard let end = find("?>", from: index) else {
            throw .unexpectedEndOfDocument(expecting: "'?>' closing the XML declaration", at: location(bytes.count))
        }
        index = end + 2
        let declaration = Array(bytes[start..<end])
        let key = Array("encoding".utf8)
        guard declaration.count >= key.count,
            let keyStart = (0...(declaration.count - key.count)).first(where: {
                declaration[$0..<$0 + key.count].elementsEqual(key)
            })
        else { return }
        let rest = declaration[(keyStart + key.count)...].drop { Self.isWhitespace($0) || $0 == UInt8(ascii: "=") }
        guard let quote = rest.first, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
            throw .malformed("encoding in the XML declaration is not quoted", at: location(start))
        }
        let name = String(decoding: rest.dropFirst().prefix { $0 != quote }, as: UTF8.self)
        switch name.lowercased() {
        case "utf-8", "utf8", "us-ascii", "ascii": return
        default: throw .unsupportedEncoding(name, at: location(start))
        }
    }

    /// Whitespace, comments and processing instructions around the root element.
    private mutating func scanMisc(before: Bool) throws(XMLRPCError) {
        while index < bytes.count {
            let byte = bytes[index]
            if Self.isWhitespace(byte) {
                index += 1
            } else if hasPrefix("<!--") {
                try skipComment()
            } else if hasPrefix("<?") {
                try skipProcessingInstruction()
            } else if hasPrefix("<!DOCTYPE") || hasPrefix("<!doctype") {
                throw .doctypeNotAllowed(at: location(index))
            } else if before, byte == UInt8(ascii: "<") {
                return
            } else if before {
                throw .malformed("text before the root element", at: location(index))
            } else {
                throw .malformed("content after the root element", at: location(index))
            }
        }
    }

    // MARK: Markup

    /// At `<` inside an element: an end tag, a comment, CDATA, a processing instruction or a
    /// child element.
    private mutating func scanMarkup() throws(XMLRPCError) {
        if hasPrefix("</") {
            try scanEndTag()
        } else if hasPrefix("<!--") {
            try skipComment()
        } else if hasPrefix("<![CDATA[") {
            try scanCDATA()
        } else if hasPrefix("<!DOCTYPE") || hasPrefix("<!doctype") {
            throw .doctypeNotAllowed(at: location(index))
        } else if hasPrefix("<!") {
            throw .malformed("unsupported markup declaration", at: location(index))
        } else if hasPrefix("<?") {
            try skipProcessingInstruction()
        } else {
            try scanStartTag()
        }
    }

    /// `<name attr="v" ...>` or `<name .../>`.
    private mutating func scanStartTag() throws(XMLRPCError) {
        let start = index
        index += 1
        let name = try scanName(what: "an element name")
        var selfClosing = false
        while true {
            let hadSpace = skipWhitespace()
            guard index < bytes.count else {
                throw .unexpectedEndOfDocument(expecting: "'>' closing <\(name)>", at: location(index))
            }
            if bytes[index] == UInt8(ascii: ">") {
                index += 1
                break
            }
            if bytes[index] == UInt8(ascii: "/") {
                guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ">") else {
                    throw .malformed("expected '/>' in <\(name)>", at: location(index))
                }
                index += 2
                selfClosing = true
                break
            }
            guard hadSpace else {
                throw .malformed("expected whitespace, '>' or '/>' in <\(name)>", at: location(index))
            }
            try scanAttribute(in: name)
        }
        try addElement(name, at: start, selfClosing: selfClosing)
    }

    private mutating func addElement(_ name: String, at offset: Int, selfClosing: Bool) throws(XMLRPCError) {
        guard elements.count < limits.maxElements else {
            throw .tooManyElements(limit: limits.maxElements, at: location(offset))
        }
        guard open.count < limits.maxDepth else { throw .nestingTooDeep(limit: limits.maxDepth, at: location(offset)) }
        let newIndex = elements.count
        elements.append(XMLTree.Element(name: name, offset: offset))
        if let parent = open.last { elements[parent].children.append(newIndex) }
        if !selfClosing { open.append(newIndex) }
    }

    /// `name = "value"` (or single quotes); checked for well-formedness, then dropped.
    private mutating func scanAttribute(in element: String) throws(XMLRPCError) {
        _ = try scanName(what: "an attribute name")
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
            throw .malformed("expected '=' after an attribute name in <\(element)>", at: location(index))
        }
        index += 1
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
            throw .malformed("expected a quoted attribute value in <\(element)>", at: location(index))
        }
        let quote = bytes[index]
        index += 1
        while true {
            guard index < bytes.count else {
                throw .unexpectedEndOfDocument(expecting: "the end of an attribute value", at: location(index))
            }
            let byte = bytes[index]
            if byte == quote {
                index += 1
                return
            }
            if byte == UInt8(ascii: "<") {
                throw .malformed("'<' inside an attribute value", at: location(index))
            }
            if byte == UInt8(ascii: "&") {
                _ = try scanReference()
            } else {
                index += 1
            }
        }
    }

    /// `</name>`, which must close the innermost open element.
    private mutating func scanEndTag() throws(XMLRPCError) {
        let start = index
        index += 2
        let name = try scanName(what: "an end-tag name")
        skipWhitespace()
        guard index < bytes.count else {
            throw .unexpectedEndOfDocument(expecting: "'>' closing </\(name)>", at: location(index))
        }
        guard bytes[index] == UInt8(ascii: ">") else {
            throw .malformed("expected '>' closing </\(name)>", at: location(index))
        }
        index += 1
        let innermost = open[open.count - 1]
        guard elements[innermost].name == name else {
            throw .mismatchedEndTag(expected: elements[innermost].name, found: name, at: location(start))
        }
        open.removeLast()
    }

    private mutating func skipComment() throws(XMLRPCError) {
        guard let end = find("-->", from: index + 4) else {
            throw .unexpectedEndOfDocument(expecting: "'-->' closing a comment", at: location(bytes.count))
        }
        index = end + 3
    }

    private mutating func skipProcessingInstruction() throws(XMLRPCError) {
        let start = index
        index += 2
        let target = try scanName(what: "a processing-instruction target")
        guard target.lowercased() != "xml" else {
            throw .malformed("XML declaration not at the start of the document", at: location(start))
        }
        guard let end = find("?>", from: index) else {
            throw .unexpectedEndOfDocument(expecting: "'?>' closing <?\(target)", at: location(bytes.count))
        }
        index = end + 2
    }

    /// `<![CDATA[...]]>`: literal character data of the open element.
    private mutating func scanCDATA() throws(XMLRPCError) {
        let start = index + 9
        guard let end = find("]]>", from: start) else {
            throw .unexpectedEndOfDocument(expecting: "']]>' closing a CDATA section", at: location(bytes.count))
        }
        appendText(start..<end, to: open[open.count - 1])
        index = end + 3
    }

    // MARK: Character data

    /// Text up to the next `<`, entities resolved, into the innermost open element.
    private mutating func scanCharacterData() throws(XMLRPCError) {
        let element = open[open.count - 1]
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "<"):
                return
            case UInt8(ascii: "&"):
                let start = index
                let character = try scanReference()
                elements[element].text.append(contentsOf: character)
                noteText(at: start, in: element)
            case UInt8(ascii: "]") where hasPrefix("]]>"):
                throw .malformed("']]>' in character data", at: location(index))
            default:
                let start = index
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "<"), bytes[index] != UInt8(ascii: "&"),
                    bytes[index] != UInt8(ascii: "]")
                {
                    index += 1
                }
                appendText(start..<index, to: element)
            }
        }
    }

    /// Appends literal text to `element`, turning CR LF and lone CR into LF (XML 1.0 §2.11).
    private mutating func appendText(_ range: Range<Int>, to element: Int) {
        if let first = range.first(where: { !Self.isWhitespace(bytes[$0]) }) { noteText(at: first, in: element) }
        guard bytes[range].contains(0x0D) else {
            elements[element].text.append(contentsOf: bytes[range])
            return
        }
        var i = range.lowerBound
        while i < range.upperBound {
            if bytes[i] == 0x0D {
                elements[element].text.append(0x0A)
                i += (i + 1 < range.upperBound && bytes[i + 1] == 0x0A) ? 2 : 1
            } else {
                elements[element].text.append(bytes[i])
                i += 1
            }
        }
    }

    private mutating func noteText(at offset: Int, in element: Int) {
        if elements[element].firstNonWhitespaceTextOffset == nil {
            elements[element].firstNonWhitespaceTextOffset = offset
        }
    }

    /// `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` `&#N;` `&#xH;`: the character's UTF-8.
    private mutating func scanReference() throws(XMLRPCError) -> [UInt8] {
        let start = index
        let nameStart = index + 1
        var end = nameStart
        while end < bytes.count, end - nameStart <= 32, bytes[end] != UInt8(ascii: ";") {
            let byte = bytes[end]
            guard byte != UInt8(ascii: "<"), byte != UInt8(ascii: "&"), !Self.isWhitespace(byte) else { break }
            end += 1
        }
        guard end < bytes.count, bytes[end] == UInt8(ascii: ";"), end > nameStart else {
            throw .malformed("'&' not starting an entity or character reference", at: location(start))
        }
        let name = Array(bytes[nameStart..<end])
        index = end + 1
        switch name {
        case Array("lt".utf8): return [UInt8(ascii: "<")]
        case Array("gt".utf8): return [UInt8(ascii: ">")]
        case Array("amp".utf8): return [UInt8(ascii: "&")]
        case Array("quot".utf8): return [UInt8(ascii: "\"")]
        case Array("apos".utf8): return [UInt8(ascii: "'")]
        default:
            guard name[0] == UInt8(ascii: "#") else {
                throw .unknownEntity(String(decoding: name, as: UTF8.self), at: location(start))
            }
            let scalar = try characterReference(name.dropFirst(), at: start)
            return Array(String(Character(scalar)).utf8)
        }
    }

    /// The character of a `#N` / `#xH` reference, which must be one XML 1.0 allows.
    private func characterReference(_ digits: ArraySlice<UInt8>, at start: Int) throws(XMLRPCError) -> Unicode.Scalar {
        var digits = digits
        var radix: UInt32 = 10
        if digits.first == UInt8(ascii: "x") {
            radix = 16
            digits = digits.dropFirst()
        }
        var value: UInt32 = 0
        for byte in digits {
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw .malformed("invalid character reference", at: location(start))
            }
            value = value * radix + digit
            guard value <= 0x10FFFF else { throw .illegalCharacter(scalar: 0x110000, at: location(start)) }
        }
        guard !digits.isEmpty else { throw .malformed("empty character reference", at: location(start)) }
        guard XMLCharacter.isLegal(codePoint: value), let scalar = Unicode.Scalar(value) else {
            throw .illegalCharacter(scalar: value, at: location(start))
        }
        return scalar
    }

    // MARK: Helpers

    /// An XML name: a letter, `_`, `:` or any non-ASCII character, then those, digits, `-`, `.`.
    private mutating func scanName(what: String) throws(XMLRPCError) -> String {
        let start = index
        while index < bytes.count, Self.isNameByte(bytes[index], first: index == start) { index += 1 }
        guard index > start else {
            if index >= bytes.count { throw .unexpectedEndOfDocument(expecting: what, at: location(index)) }
            throw .malformed("expected \(what)", at: location(index))
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private static func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "_"), UInt8(ascii: ":"), 0x80...0xFF:
            true
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."): !first
        default: false
        }
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    @discardableResult
    private mutating func skipWhitespace() -> Bool {
        let start = index
        while index < bytes.count, Self.isWhitespace(bytes[index]) { index += 1 }
        return index > start
    }

    private func hasPrefix(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let pointer = text.utf8Start
        for k in 0..<count where bytes[index + k] != pointer[k] { return false }
        return true
    }

    /// The offset of the next `needle` at or after `start`.
    private func find(_ needle: StaticString, from start: Int) -> Int? {
        let count = needle.utf8CodeUnitCount
        let pointer = needle.utf8Start
        var i = start
        while i + count <= bytes.count {
            if bytes[i] == pointer[0] {
                var k = 1
                while k < count, bytes[i + k] == pointer[k] { k += 1 }
                if k == count { return i }
            }
            i += 1
        }
        return nil
    }

    private func location(_ offset: Int) -> XMLSourceLocation { .of(offset, in: bytes) }
}
