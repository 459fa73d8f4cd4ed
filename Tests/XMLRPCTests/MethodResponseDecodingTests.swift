import Testing
import XMLRPC

@Suite struct MethodResponseDecodingTests {
    @Test func decodesXapiStyleFaultWithI4() throws {
        let text =
            "<methodResponse><fault><value><struct><member><name>faultCode</name><value><i4>144</i4></value></member><member><name>faultString</name><value>VDI could not be found</value></member></struct></value></fault></methodResponse>"
        #expect(try MethodResponse(decoding: text) == .fault(XMLRPCFault(code: 144, string: "VDI could not be found")))
    }

    @Test func refusesMalformedFaults() {
        func decode(_ text: String) -> XMLRPCError? {
            do {
                _ = try MethodResponse(decoding: text)
                return nil
            } catch {
                return error
            }
        }
        let at = XMLSourceLocation(line: 1, column: 17, byteOffset: 16)
        #expect(
            decode("<methodResponse><fault><value>x</value></fault></methodResponse>")
                == .invalidFault("the fault value is a string, not a struct", at: at))
        #expect(
            decode(
                "<methodResponse><fault><value><struct><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>"
            )
                == .invalidFault("faultCode is missing or not an int", at: at))
        #expect(
            decode(
                "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member></struct></value></fault></methodResponse>"
            )
                == .invalidFault("faultString is missing or not a string", at: at))
        #expect(
            decode(
                "<methodResponse><fault><value><struct><member><name>faultCode</name><value><i8>9999999999</i8></value></member></struct></value></fault></methodResponse>"
            )
                == .invalidFault("faultCode 9999999999 does not fit in 32 bits", at: at))
        #expect(
            decode("<methodResponse/>")
                == .missingElement("params", in: "methodResponse", at: .init(line: 1, column: 1, byteOffset: 0)))
        #expect(
            decode("<methodResponse><params/><fault/></methodResponse>")
                == .unexpectedElement("fault", in: "methodResponse", at: .init(line: 1, column: 26, byteOffset: 25)))
        #expect(
            decode("<methodCall/>")
                == .wrongRootElement(
                    expected: "methodResponse", found: "methodCall", at: .init(line: 1, column: 1, byteOffset: 0)))
    }
}
