import Testing
import XMLRPC

@Suite struct XMLRPCValueRoundTripTests {
    static let samples: [XMLRPCValue] = [
        "", "plain", "a&b<c>d]]>e\"'", "\u{4e2d}\u{6587}\u{673a}\u{5668} 0", "tab\tand\nnewline", "  padded  ",
        "emoji 🦀 and U+FFFD \u{FFFD}",
        0, 1, -1, .int(Int64(Int32.max)), .int(Int64(Int32.min)), .int(.max), .int(.min), .int(10_737_418_240),
        true, false,
        0.0, -0.0, 1.5, -2.25e-300, 1e300, 0.1, .double(.infinity), .double(-.infinity),
        .dateTime("19700101T00:00:00Z"), .dateTime("2024-05-01T12:00:00"),
        .base64([]), .base64([0]), .base64([0, 1]), .base64([0, 1, 2]), .base64(Array(repeating: 0xFF, count: 1000)),
        [], ["a", 1, true, [2, [3, .nil]]],
        .struct([]), ["name": "x", "nested": ["deeper": [1, 2, ["k": .nil]]]],
        .nil,
    ]

    @Test(arguments: samples)
    func survivesAMethodCallRoundTrip(value: XMLRPCValue) throws {
        let call = MethodCall(methodName: "round.trip", params: [value, value])
        let decoded = try MethodCall(decoding: call.encoded())
        #expect(decoded == call)
    }

    @Test(arguments: samples)
    func survivesAMethodResponseRoundTrip(value: XMLRPCValue) throws {
        let response = MethodResponse.params([value])
        #expect(try MethodResponse(decoding: response.encoded()) == response)
    }

    @Test func notANumberRoundTripsAsNotANumber() throws {
        let decoded = try MethodResponse(decoding: MethodResponse.params([.double(.nan)]).encoded())
        guard case .params(let params) = decoded, case .double(let number)? = params.first else {
            Issue.record("expected a double, got \(decoded)")
            return
        }
        #expect(number.isNaN)
    }

    @Test func structMembersKeepTheirOrder() throws {
        let value: XMLRPCValue = ["z": 1, "a": 2, "m": 3]
        let decoded = try MethodResponse(decoding: MethodResponse.params([value]).encoded())
        #expect(decoded == .params([.struct([.init("z", 1), .init("a", 2), .init("m", 3)])]))
        #expect(value[member: "a"] == 2)
        #expect(value[member: "b"] == nil)
    }

    @Test func faultsRoundTrip() throws {
        let fault = MethodResponse.fault(XMLRPCFault(code: -7, string: "bad & <worse>"))
        #expect(try MethodResponse(decoding: fault.encoded()) == fault)
    }
}
