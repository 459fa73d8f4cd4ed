import Testing
import XMLRPC

@Suite struct MethodCallDecodingTests {
    /// Verbatim from SM's drivers/SRTest.txt: xapi's bare-text string encoding.
    static let driverInfoRequest =
        "<methodCall><methodName>sr_get_driver_info</methodName><params><param><value><struct><member><name>host_ref</name><value>OpaqueRef:NULL</value></member><member><name>command</name><value>sr_get_driver_info</value></member><member><name>args</name><value><array><data/></array></value></member><member><name>device_config</name><value><struct/></value></member></struct></value></param></params></methodCall>"

    @Test func decodesXapisDriverInfoRequest() throws {
        let call = try MethodCall(decoding: Self.driverInfoRequest)
        #expect(call.methodName == "sr_get_driver_info")
        #expect(
            call.params == [
                [
                    "host_ref": "OpaqueRef:NULL", "command": "sr_get_driver_info", "args": [],
                    "device_config": .struct([]),
                ]
            ])
    }

    @Test func acceptsEveryStringSpelling() throws {
        let call = try MethodCall(
            decoding: """
                <?xml version="1.0" encoding="UTF-8"?>
                <!-- xapi and python spell strings differently -->
                <methodCall>
                  <methodName> m </methodName>
                  <params>
                    <param><value>bare</value></param>
                    <param><value/></param>
                    <param><value></value></param>
                    <param><value><string>typed</string></value></param>
                    <param><value><string/></value></param>
                    <param><value>  <string>spaced</string>  </value></param>
                    <param><value>  </value></param>
                    <param><value>a&amp;b&lt;&#65;&#x4e2d;&quot;&apos;&gt;</value></param>
                    <param><value><![CDATA[<raw & text>]]></value></param>
                  </params>
                </methodCall>
                """)
        #expect(call.methodName == "m")
        #expect(call.params == ["bare", "", "", "typed", "", "spaced", "  ", "a&b<A中\"'>", "<raw & text>"])
    }

    @Test func acceptsEveryIntegerSpellingAndBoolean() throws {
        let call = try MethodCall(
            decoding: """
                <methodCall><methodName>m</methodName><params>
                <param><value><i4>-5</i4></value></param>
                <param><value><int> 7 </int></value></param>
                <param><value><i8>10737418240</i8></value></param>
                <param><value><ex:i8 xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions">+3</ex:i8></value></param>
                <param><value><boolean>1</boolean></value></param>
                <param><value><boolean>0</boolean></value></param>
                <param><value><ex:nil/></value></param>
                <param><value><double>-1.5e3</double></value></param>
                <param><value><base64>aGVs
                bG8=</base64></value></param>
                </params></methodCall>
                """)
        #expect(
            call.params == [-5, 7, .int(10_737_418_240), 3, true, false, .nil, -1500.0, .base64(Array("hello".utf8))])
    }

    @Test func paramsMayBeAbsent() throws {
        #expect(
            try MethodCall(decoding: "<methodCall><methodName>m</methodName></methodCall>")
                == MethodCall(methodName: "m"))
    }

    @Test func normalisesLineEndsAsXMLRequires() throws {
        let call = try MethodCall(
            decoding:
                "<methodCall><methodName>m</methodName><params><param><value>a\r\nb\rc</value></param></params></methodCall>"
        )
        #expect(call.params == ["a\nb\nc"])
    }

    @Test func acceptsAByteOrderMarkAndTrailingComments() throws {
        var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]
        bytes += Array("<methodCall><methodName>m</methodName></methodCall>\n<!-- done --><?pi x?>\n".utf8)
        #expect(try MethodCall(decoding: bytes).methodName == "m")
    }
}
