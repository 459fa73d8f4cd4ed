/// Turns the elements of a parsed document into values. Recursion follows element nesting,
/// which `XMLRPCLimits.maxDepth` has already bounded.
struct XMLRPCValueDecoder {
    let tree: XMLTree

    typealias Element = XMLTree.Element

    /// The value of a `<value>` element: bare text is a string (xapi); otherwise exactly one
    /// typed child, with nothing but whitespace around it.
    func value(at index: Int) throws(XMLRPCError) -> XMLRPCValue {
        let element = tree.elements[index]
        if element.children.isEmpty { return .string(element.textString) }
        try requireNoText(in: element)
        guard element.children.count == 1 else {
            throw unexpected(tree.elements[element.children[1]], in: element)
        }
        let typed = tree.elements[element.children[0]]
        let type = typed.localName
        switch type {
        case "string":
            return .string(try leafText(typed))
        case "int", "i4", "i8":
            return .int(try integer(typed))
        case "boolean":
            switch try leafText(typed).trimmingXMLWhitespace() {
            case "1", "true": return .boolean(true)
            case "0", "false": return .boolean(false)
            default: throw invalid(typed)
            }
        case "double":
            return .double(try double(typed))
        case "dateTime.iso8601":
            return .dateTime(try leafText(typed))
        case "base64":
            _ = try leafText(typed)
            guard let bytes = Base64.decode(typed.text) else { throw invalid(typed) }
            return .base64(bytes)
        case "array":
            return .array(try array(typed))
        case "struct":
            return .struct(try members(typed))
        case "nil":
            guard try leafText(typed).trimmingXMLWhitespace().isEmpty else {
                throw .unexpectedText(
                    in: typed.name, at: tree.location(typed.firstNonWhitespaceTextOffset ?? typed.offset))
            }
            return .nil
        default:
            throw unexpected(typed, in: element)
        }
    }

    /// `<array><data><value>…</value>…</data></array>`.
    private func array(_ element: Element) throws(XMLRPCError) -> [XMLRPCValue] {
        try requireNoText(in: element)
        guard let dataIndex = element.children.first else {
            throw .missingElement("data", in: "array", at: tree.location(element.offset))
        }
        let data = tree.elements[dataIndex]
        guard data.localName == "data" else { throw unexpected(data, in: element) }
        if element.children.count > 1 { throw unexpected(tree.elements[element.children[1]], in: element) }
        try requireNoText(in: data)
        var values: [XMLRPCValue] = []
        values.reserveCapacity(data.children.count)
        for child in data.children {
            guard tree.elements[child].localName == "value" else { throw unexpected(tree.elements[child], in: data) }
            values.append(try value(at: child))
        }
        return values
    }

    /// `<struct><member><name>…</name><value>…</value></member>…</struct>`; names unique.
    private func members(_ element: Element) throws(XMLRPCError) -> [XMLRPCValue.Member] {
        try requireNoText(in: element)
        var members: [XMLRPCValue.Member] = []
        members.reserveCapacity(element.children.count)
        var seen = Set<String>()
        for memberIndex in element.children {
            let member = tree.elements[memberIndex]
            guard member.localName == "member" else { throw unexpected(member, in: element) }
            try requireNoText(in: member)
            guard let nameIndex = member.children.first, tree.elements[nameIndex].localName == "name" else {
                if let first = member.children.first { throw unexpected(tree.elements[first], in: member) }
                throw .missingElement("name", in: "member", at: tree.location(member.offset))
            }
            guard member.children.count >= 2 else {
                throw .missingElement("value", in: "member", at: tree.location(member.offset))
            }
            let valueIndex = member.children[1]
            guard tree.elements[valueIndex].localName == "value" else {
                throw unexpected(tree.elements[valueIndex], in: member)
            }
            if member.children.count > 2 { throw unexpected(tree.elements[member.children[2]], in: member) }
            let name = try leafText(tree.elements[nameIndex])
            guard seen.insert(name).inserted else {
                throw .duplicateMember(name, at: tree.location(member.offset))
            }
            members.append(XMLRPCValue.Member(name, try value(at: valueIndex)))
        }
        return members
    }

    /// A signed decimal integer that fits in 64 bits, whitespace around it allowed.
    private func integer(_ element: Element) throws(XMLRPCError) -> Int64 {
        let text = try leafText(element).trimmingXMLWhitespace()
        let body = text.first == "+" || text.first == "-" ? text.utf8.dropFirst() : text.utf8[...]
        guard !body.isEmpty, body.allSatisfy({ (48...57).contains($0) }), let number = Int64(text) else {
            throw invalid(element)
        }
        return number
    }

    /// A decimal floating-point number (`-1.5`, `2e10`, `.5`), or `inf`/`nan` as Python writes them.
    private func double(_ element: Element) throws(XMLRPCError) -> Double {
        let text = try leafText(element).trimmingXMLWhitespace()
        let body = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
        switch body.lowercased() {
        case "inf", "infinity": return text.first == "-" ? -.infinity : .infinity
        case "nan": return .nan
        default: break
        }
        var mantissaDigits = false
        var exponentDigits = false
        var sawPoint = false
        var sawExponent = false
        var previous: UInt8 = 0
        for byte in body.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if sawExponent { exponentDigits = true } else { mantissaDigits = true }
            case UInt8(ascii: "."):
                guard !sawPoint, !sawExponent else { throw invalid(element) }
                sawPoint = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                guard mantissaDigits, !sawExponent else { throw invalid(element) }
                sawExponent = true
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                guard previous == UInt8(ascii: "e") || previous == UInt8(ascii: "E") else { throw invalid(element) }
            default:
                throw invalid(element)
            }
            previous = byte
        }
        guard mantissaDigits, exponentDigits || !sawExponent, let number = Double(text) else { throw invalid(element) }
        return number
    }

    /// The character data of an element that may not hold elements.
    func leafText(_ element: Element) throws(XMLRPCError) -> String {
        if let child = element.children.first { throw unexpected(tree.elements[child], in: element) }
        return element.textString
    }

    func requireNoText(in element: Element) throws(XMLRPCError) {
        if let offset = element.firstNonWhitespaceTextOffset {
            throw .unexpectedText(in: element.name, at: tree.location(offset))
        }
    }

    func unexpected(_ child: Element, in parent: Element) -> XMLRPCError {
        .unexpectedElement(child.name, in: parent.name, at: tree.location(child.offset))
    }

    private func invalid(_ element: Element) -> XMLRPCError {
        .invalidValue(type: String(element.localName), text: element.textString, at: tree.location(element.offset))
    }
}

extension String {
    /// Without leading and trailing XML whitespace (space, tab, CR, LF).
    func trimmingXMLWhitespace() -> String {
        let bytes = Array(utf8)
        guard let first = bytes.firstIndex(where: { !XMLScanner.isWhitespace($0) }),
            let last = bytes.lastIndex(where: { !XMLScanner.isWhitespace($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
