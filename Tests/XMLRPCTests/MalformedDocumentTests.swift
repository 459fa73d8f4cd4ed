import Testing
import XMLRPC

/// Bad input is refused with an error that names what was wrong and where; nothing crashes
/// or hangs.
@Suite struct MalformedDocumentTests {
    static func call(_ text: String, limits: XMLRPCLimits = .default) -> XMLRPCError? {
        do {
            _ = try MethodCall(decoding: text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func emptyAndWhitespaceDocuments() {
        #expect(Self.call("") == .emptyDocument)
        #expect(Self.call("  \n ") == .emptyDocument)
        #expect(Self.call("<?xml version='1.0'?>") == .emptyDocument)
    }

    @Test func unclosedAndMismatchedElements() {
        #expect(
            Self.call("<methodCall><methodName>m</methodName>")
                == .unexpectedEndOfDocument(expecting: "</methodCall>", at: .init(line: 1, column: 39, byteOffset: 38)))
        #expect(
            Self.call("<methodCall><methodName>m</methodname></methodCall>")
                == .mismatchedEndTag(
                    expected: "methodName", found: "methodname", at: .init(line: 1, column: 26, byteOffset: 25)))
        #expect(
            Self.call("<methodCall><methodName>m</methodName></methodCall><extra/>")
                == .malformed(
                    "content after the root element", at: .init(line: 1, column: 52, byteOffset: 51)))
        #expect(
            Self.call("text<methodCall/>")
                == .malformed("text before the root element", at: .init(line: 1, column: 1, byteOffset: 0)))
        #expect(
            Self.call("<methodCall")
                == .unexpectedEndOfDocument(
                    expecting: "'>' closing <methodCall>", at: .init(line: 1, column: 12, byteOffset: 11)))
        #expect(
            Self.call("<methodCall x=1/>")
                == .malformed(
                    "expected a quoted attribute value in <methodCall>", at: .init(line: 1, column: 15, byteOffset: 14))
        )
        #expect(
            Self.call("<methodCall><!-- never closed")
                == .unexpectedEndOfDocument(
                    expecting: "'-->' closing a comment", at: .init(line: 1, column: 30, byteOffset: 29)))
        #expect(
            Self.call("<1methodCall/>")
                == .malformed("expected an element name", at: .init(line: 1, column: 2, byteOffset: 1)))
    }

    @Test func wrongRootAndMissingMethodName() {
        #expect(
            Self.call("<methodResponse><params/></methodResponse>")
                == .wrongRootElement(
                    expected: "methodCall", found: "methodResponse", at: .init(line: 1, column: 1, byteOffset: 0)))
        #expect(
            Self.call("<methodCall><params/></methodCall>")
                == .unexpectedElement("params", in: "methodCall", at: .init(line: 1, column: 13, byteOffset: 12)))
        #expect(
            Self.call("<methodCall></methodCall>")
                == .missingElement("methodName", in: "methodCall", at: .init(line: 1, column: 1, byteOffset: 0)))
        #expect(
            Self.call("<methodCall><methodName> </methodName></methodCall>")
                == .missingElement("methodName", in: "methodCall", at: .init(line: 1, column: 13, byteOffset: 12)))
        #expect(
            Self.call("<methodCall><methodName>vdi create;</methodName></methodCall>")
                == .invalidValue(
                    type: "methodName", text: "vdi create;", at: .init(line: 1, column: 13, byteOffset: 12)))
    }

    @Test func malformedValues() {
        func value(_ inner: String) -> XMLRPCError? {
            Self.call(
                "<methodCall><methodName>m</methodName><params><param><value>\(inner)</value></param></params></methodCall>"
            )
        }
        let at = XMLSourceLocation(line: 1, column: 61, byteOffset: 60)
        #expect(value("<int>12x</int>") == .invalidValue(type: "int", text: "12x", at: at))
        #expect(
            value("<int>99999999999999999999</int>") == .invalidValue(type: "int", text: "99999999999999999999", at: at)
        )
        #expect(value("<i4></i4>") == .invalidValue(type: "i4", text: "", at: at))
        #expect(value("<boolean>yes</boolean>") == .invalidValue(type: "boolean", text: "yes", at: at))
        #expect(value("<double>1e</double>") == .invalidValue(type: "double", text: "1e", at: at))
        #expect(value("<double>0x10</double>") == .invalidValue(type: "double", text: "0x10", at: at))
        #expect(value("<base64>abc</base64>") == .invalidValue(type: "base64", text: "abc", at: at))
        #expect(value("<base64>ab=c</base64>") == .invalidValue(type: "base64", text: "ab=c", at: at))
        #expect(value("<float>1</float>") == .unexpectedElement("float", in: "value", at: at))
        #expect(
            value("<string>a<b/></string>")
                == .unexpectedElement("b", in: "string", at: .init(line: 1, column: 70, byteOffset: 69)))
        #expect(value("x<string>a</string>") == .unexpectedText(in: "value", at: at))
        #expect(
            value("<string/><string/>")
                == .unexpectedElement("string", in: "value", at: .init(line: 1, column: 70, byteOffset: 69)))
        #expect(value("<nil>x</nil>") == .unexpectedText(in: "nil", at: .init(line: 1, column: 66, byteOffset: 65)))
        #expect(value("<array/>") == .missingElement("data", in: "array", at: at))
        #expect(
            value("<array><data><string/></data></array>")
                == .unexpectedElement("string", in: "data", at: .init(line: 1, column: 74, byteOffset: 73)))
        #expect(
            value("<struct><member><value/></member></struct>")
                == .unexpectedElement("value", in: "member", at: .init(line: 1, column: 77, byteOffset: 76)))
        #expect(
            value("<struct><member><name>a</name></member></struct>")
                == .missingElement("value", in: "member", at: .init(line: 1, column: 69, byteOffset: 68)))
        #expect(
            value("<struct><member><name>a</name><value/></member><member><name>a</name><value/></member></struct>")
                == .duplicateMember("a", at: .init(line: 1, column: 108, byteOffset: 107)))
    }

    @Test func entitiesAndDoctypesAreRefused() {
        let billionLaughs = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
            <methodCall><methodName>&lol2;</methodName></methodCall>
            """
        #expect(Self.call(billionLaughs) == .doctypeNotAllowed(at: .init(line: 2, column: 1, byteOffset: 22)))
        let external = "<methodCall><!DOCTYPE x SYSTEM \"file:///etc/passwd\"><methodName>m</methodName></methodCall>"
        #expect(Self.call(external) == .doctypeNotAllowed(at: .init(line: 1, column: 13, byteOffset: 12)))
        #expect(
            Self.call("<methodCall><methodName>&xxe;</methodName></methodCall>")
                == .unknownEntity("xxe", at: .init(line: 1, column: 25, byteOffset: 24)))
        #expect(
            Self.call("<methodCall><methodName>a & b</methodName></methodCall>")
                == .malformed(
                    "'&' not starting an entity or character reference", at: .init(line: 1, column: 27, byteOffset: 26))
        )
        #expect(
            Self.call("<?xml version='1.0' encoding='ISO-8859-1'?><methodCall/>")
                == .unsupportedEncoding("ISO-8859-1", at: .init(line: 1, column: 1, byteOffset: 0)))
    }

    @Test func illegalCharactersAreRefusedRawOrAsReferences() {
        #expect(
            Self.call("<methodCall><methodName>m\u{1}</methodName></methodCall>")
                == .illegalCharacter(scalar: 1, at: .init(line: 1, column: 26, byteOffset: 25)))
        #expect(
            Self.call("<methodCall>\n<methodName>m&#1;</methodName></methodCall>")
                == .illegalCharacter(scalar: 1, at: .init(line: 2, column: 14, byteOffset: 26)))
        #expect(
            Self.call("<methodCall><methodName>&#xFFFE;</methodName></methodCall>")
                == .illegalCharacter(scalar: 0xFFFE, at: .init(line: 1, column: 25, byteOffset: 24)))
        #expect(
            Self.call("<methodCall><methodName>&#x110000;</methodName></methodCall>")
                == .illegalCharacter(scalar: 0x110000, at: .init(line: 1, column: 25, byteOffset: 24)))
        #expect(
            Self.call("<methodCall><methodName>\u{FFFF}</methodName></methodCall>")
                == .illegalCharacter(scalar: 0xFFFF, at: .init(line: 1, column: 25, byteOffset: 24)))
        #expect(XMLCharacter.firstIllegalScalar(in: "ok\u{0B}no") == "\u{0B}")
        #expect(XMLCharacter.isLegal("tab\tnewline\ncr\r中文 🦀"))
        #expect(!XMLCharacter.isLegal("nul\u{0}"))
        #expect(!XMLCharacter.isLegal("\u{FFFE}"))
    }

    @Test func invalidUTF8IsRefused() {
        func bytes(_ middle: [UInt8]) -> XMLRPCError? {
            do {
                _ = try MethodCall(
                    decoding: Array("<methodCall><methodName>".utf8) + middle + Array("</methodName></methodCall>".utf8)
                )
                return nil
            } catch {
                return error
            }
        }
        let at = XMLSourceLocation(line: 1, column: 25, byteOffset: 24)
        #expect(bytes([0xFF]) == .invalidUTF8(at: at))
        #expect(bytes([0xC0, 0xAF]) == .invalidUTF8(at: at))  // overlong '/'
        #expect(bytes([0xED, 0xA0, 0x80]) == .invalidUTF8(at: at))  // a surrogate
        #expect(bytes([0xE4, 0xB8]) == .invalidUTF8(at: at))  // truncated
        #expect(bytes([0xF4, 0x90, 0x80, 0x80]) == .invalidUTF8(at: at))  // beyond U+10FFFF
    }

    @Test func tenThousandLevelsOfNestingStopAtTheDepthLimit() {
        let depth = 10_000
        let open = String(repeating: "<value><array><data>", count: depth)
        let close = String(repeating: "</data></array></value>", count: depth)
        let text = "<methodCall><methodName>m</methodName><params><param>\(open)\(close)</param></params></methodCall>"
        guard case .nestingTooDeep(let limit, _)? = Self.call(text) else {
            Issue.record("expected nestingTooDeep")
            return
        }
        #expect(limit == 256)
        // Even with the highest depth the limits allow, deep nesting decodes without exhausting the stack.
        let limits = XMLRPCLimits(maxDepth: 100_000)
        #expect(limits.maxDepth == XMLRPCLimits.hardMaximumDepth)
        let fits = (XMLRPCLimits.hardMaximumDepth - 4) / 3
        let deep =
            "<methodCall><methodName>m</methodName><params><param>"
            + String(repeating: "<value><array><data>", count: fits)
            + String(repeating: "</data></array></value>", count: fits)
            + "</param></params></methodCall>"
        #expect(Self.call(deep, limits: limits) == nil)
        let unclosed = String(repeating: "<a>", count: depth)
        guard case .nestingTooDeep? = Self.call(unclosed) else {
            Issue.record("expected nestingTooDeep for unclosed elements")
            return
        }
    }

    @Test func oversizedDocumentsAreRefusedBeforeParsing() {
        let big = String(repeating: "x", count: (4 << 20) + 1)
        #expect(Self.call(big) == .documentTooLarge(byteCount: (4 << 20) + 1, limit: 4 << 20))
        let manyElements = "<methodCall>" + String(repeating: "<a/>", count: 300_000) + "</methodCall>"
        guard case .tooManyElements(250_000, _)? = Self.call(manyElements) else {
            Issue.record("expected tooManyElements")
            return
        }
    }

    @Test func largeButAllowedDocumentsParseQuickly() throws {
        let long = String(repeating: "0123456789abcdef", count: 200_000)  // 3.2 MB of text
        let call = try MethodCall(
            decoding:
                "<methodCall><methodName>m</methodName><params><param><value>\(long)</value></param></params></methodCall>"
        )
        #expect(call.params == [.string(long)])
        let members = (0..<20_000).map { "<member><name>k\($0)</name><value>v</value></member>" }.joined()
        let wide = try MethodCall(
            decoding:
                "<methodCall><methodName>m</methodName><params><param><value><struct>\(members)</struct></value></param></params></methodCall>"
        )
        #expect(wide.params.first?.structMembers?.count == 20_000)
    }

    @Test func unclosedMarkupAtEndOfInput() {
        for text in [
            "<", "<methodCall><", "<methodCall></", "<methodCall><![CDATA[x", "<methodCall><?pi", "<methodCall>&",
            "<methodCall>&#", "<methodCall a='x", "<?xml version='1.0'",
        ] {
            #expect(Self.call(text) != nil, "\(text)")
        }
    }
}
