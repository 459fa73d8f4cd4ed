extension XMLRPCValue {
    /// This value as Python's `xmlrpc.client` marshals it, byte for byte: `<value><string>`
    /// for strings (escaping only `&`, `<`, `>`), `<int>`, `<boolean>1|0`, `repr()` doubles,
    /// base64 in 76-column lines, `<value><nil/></value>` with no line break after it, and a
    /// line break after every other value and struct member.
    ///
    /// Two cases Python refuses are written rather than refused: an integer outside 32 bits
    /// becomes `<i8>` (the Apache extension Python and xapi read), and a string holding a
    /// character XML 1.0 forbids is written as is (check with `XMLCharacter` first where that
    /// matters).
    public func encoded() -> String {
        var output = ""
        encode(into: &output)
        return output
    }

    /// Appends `encoded()` to `output`.
    public func encode(into output: inout String) {
        switch self {
        case .string(let text):
            output += "<value><string>"
            output += XMLCharacter.escaped(text)
            output += "</string></value>\n"
        case .int(let number):
            let tag = Int64(Int32.min)...Int64(Int32.max) ~= number ? "int" : "i8"
            output += "<value><\(tag)>\(number)</\(tag)></value>\n"
        case .boolean(let flag):
            output += flag ? "<value><boolean>1</boolean></value>\n" : "<value><boolean>0</boolean></value>\n"
        case .double(let number):
            output += "<value><double>"
            output += PythonFloat.repr(number)
            output += "</double></value>\n"
        case .dateTime(let text):
            output += "<value><dateTime.iso8601>"
            output += XMLCharacter.escaped(text)
            output += "</dateTime.iso8601></value>\n"
        case .base64(let bytes):
            output += "<value><base64>\n"
            output += Base64.encodedLines(bytes)
            output += "</base64></value>\n"
        case .array(let elements):
            output += "<value><array><data>\n"
            for element in elements { element.encode(into: &output) }
            output += "</data></array></value>\n"
        case .struct(let members):
            output += "<value><struct>\n"
            for member in members {
                output += "<member>\n<name>"
                output += XMLCharacter.escaped(member.name)
                output += "</name>\n"
                member.value.encode(into: &output)
                output += "</member>\n"
            }
            output += "</struct></value>\n"
        case .nil:
            output += "<value><nil/></value>"
        }
    }
}

/// The header Python's `xmlrpc.client.dumps` writes for UTF-8.
let pythonXMLHeader = "<?xml version='1.0'?>\n"
