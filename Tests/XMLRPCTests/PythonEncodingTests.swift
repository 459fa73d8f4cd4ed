import Testing
import XMLRPC

/// Encoded documents must equal what Python's `xmlrpc.client.dumps` writes, byte for byte.
/// The expected strings were produced by CPython 3's `xmlrpc.client`.
@Suite struct PythonEncodingTests {
    @Test func everyValueKindMatchesPython() {
        let value: XMLRPCValue = [
            "s": "a&b<c>d\"e'f é 中",
            "i": .int(-2_147_483_648),
            "b": false,
            "d": [0.1, 1e16, 1e-5, 123456.789, .double(-0.0), 1e15, 2.5e-300, .double(.infinity)],
            "empty": "",
            "e": [],
            "st": .struct([]),
            "n": .nil,
            "b64": .base64([]),
            "b64b": .base64(Array(0..<60)),
        ]
        let expected =
            "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n<member>\n<name>s</name>\n<value><string>a&amp;b&lt;c&gt;d\"e'f é 中</string></value>\n</member>\n<member>\n<name>i</name>\n<value><int>-2147483648</int></value>\n</member>\n<member>\n<name>b</name>\n<value><boolean>0</boolean></value>\n</member>\n<member>\n<name>d</name>\n<value><array><data>\n<value><double>0.1</double></value>\n<value><double>1e+16</double></value>\n<value><double>1e-05</double></value>\n<value><double>123456.789</double></value>\n<value><double>-0.0</double></value>\n<value><double>1000000000000000.0</double></value>\n<value><double>2.5e-300</double></value>\n<value><double>inf</double></value>\n</data></array></value>\n</member>\n<member>\n<name>empty</name>\n<value><string></string></value>\n</member>\n<member>\n<name>e</name>\n<value><array><data>\n</data></array></value>\n</member>\n<member>\n<name>st</name>\n<value><struct>\n</struct></value>\n</member>\n<member>\n<name>n</name>\n<value><nil/></value></member>\n<member>\n<name>b64</name>\n<value><base64>\n</base64></value>\n</member>\n<member>\n<name>b64b</name>\n<value><base64>\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\nOTo7\n</base64></value>\n</member>\n</struct></value>\n</param>\n</params>\n</methodResponse>\n"
        #expect(MethodResponse.params([value]).encoded() == expected)
    }

    @Test func nilResponseIsSMsReturnNil() {
        // Verbatim from SM's tests/test_util.py test_return_nil.
        #expect(
            MethodResponse.params([.nil]).encoded()
                == "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><nil/></value></param>\n</params>\n</methodResponse>\n"
        )
    }

    @Test func faultIsSMsSRExceptionXML() {
        // Verbatim from SM's tests/test_SRCommand.py, minus the blank line `print` adds.
        let fault = MethodResponse.fault(XMLRPCFault(code: 22, string: "[UnitTest] SRException thrown"))
        #expect(
            fault.encoded()
                == "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>22</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>[UnitTest] SRException thrown</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n"
        )
    }

    @Test func faultStringIsEscaped() {
        let fault = MethodResponse.fault(XMLRPCFault(code: 144, string: "VDI could not be found [opterr=a<b]"))
        #expect(
            fault.encoded()
                == "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>144</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>VDI could not be found [opterr=a&lt;b]</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n"
        )
    }

    @Test func methodCallMatchesPython() {
        #expect(
            MethodCall(methodName: "vdi_create", params: ["x", 1]).encoded()
                == "<?xml version='1.0'?>\n<methodCall>\n<methodName>vdi_create</methodName>\n<params>\n<param>\n<value><string>x</string></value>\n</param>\n<param>\n<value><int>1</int></value>\n</param>\n</params>\n</methodCall>\n"
        )
        #expect(
            MethodCall(methodName: "m").encoded()
                == "<?xml version='1.0'?>\n<methodCall>\n<methodName>m</methodName>\n<params>\n</params>\n</methodCall>\n"
        )
    }

    @Test func dateTimeKeepsItsText() {
        #expect(
            MethodResponse.params([.dateTime("19700101T00:00:00")]).encoded()
                == "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><dateTime.iso8601>19700101T00:00:00</dateTime.iso8601></value>\n</param>\n</params>\n</methodResponse>\n"
        )
    }

    @Test func integersBeyond32BitsBecomeI8() {
        #expect(XMLRPCValue.int(10_737_418_240).encoded() == "<value><i8>10737418240</i8></value>\n")
        #expect(XMLRPCValue.int(2_147_483_647).encoded() == "<value><int>2147483647</int></value>\n")
    }

    @Test func escapingTouchesOnlyAmpersandAndAngleBrackets() {
        #expect(XMLCharacter.escaped("a&b<c>d\"e'f\r\n") == "a&amp;b&lt;c&gt;d\"e'f\r\n")
        #expect(XMLCharacter.escaped("plain") == "plain")
    }

    /// Bit patterns and Python's `repr()` of them: edge cases, then random doubles.
    @Test(arguments: [
        (0x0000_0000_0000_0001 as UInt64, "5e-324"),
        (0x7FEF_FFFF_FFFF_FFFF, "1.7976931348623157e+308"),
        (0x0010_0000_0000_0000, "2.2250738585072014e-308"),
        (0x4340_0000_0000_0000, "9007199254740992.0"),
        (0x4480_F0CF_064D_D592, "1e+22"),
        (0x44B5_2D02_C7E1_4AF6, "1e+23"),
        (0x3FD3_3333_3333_3333, "0.3"),
        (0x3FE5_5555_5555_5555, "0.6666666666666666"),
        (0x4059_0000_0000_0000, "100.0"),
        (0x4311_8B54_F22A_EB03, "1234567890123456.8"),
        (0x4345_EE2A_2EB5_A5C4, "1.2345678901234568e+16"),
        (0x3F50_624D_D2F1_A9FC, "0.001"),
        (0x3F1A_36E2_EB1C_432D, "0.0001"),
        (0x3F20_2E4B_6CE5_DC68, "0.00012345"),
        (0xBFF8_0000_0000_0000, "-1.5"),
        (0x4341_C379_37E0_7FFF, "9999999999999998.0"),
        (0x3EFF_7510_4D55_1D69, "3e-05"),
        (0x441A_ABDF_2145_B430, "1.23e+20"),
        (0xF2A7_4DE4_52E6_B438, "-1.989032661366619e+244"),
        (0x6513_270E_269E_0D37, "7.761117632285041e+178"),
        (0x0C5C_7FD0_A6A3_A450, "3.980498358697587e-249"),
        (0xD23F_0824_128B_2F33, "-1.5432835417340557e+88"),
        (0x36F6_75CC_81E7_4EF5, "6.294675241195386e-44"),
        (0x3D9C_1724_11E2_0B8F, "6.387016158513563e-12"),
        (0x95E6_0AF5_93BD_04CF, "-3.51527970626667e-203"),
        (0x3898_D190_F9EB_DACC, "4.6678633181812096e-36"),
        (0xAE97_BA94_D0ED_A82F, "-3.0536383926309363e-84"),
        (0x4110_F50B_C05C_5F08, "277826.9378523682"),
        (0xC10F_2727_50FE_D2DC, "-255204.91454853758"),
        (0x40F7_500E_E717_BB10, "95488.93141911575"),
        (0xC101_AD7B_1BFA_6674, "-144815.38866119424"),
        (0xC116_AFE6_A311_7E24, "-371705.659246417"),
    ])
    func doublesAreWrittenAsPythonsRepr(bits: UInt64, repr: String) throws {
        let value = Double(bitPattern: bits)
        #expect(XMLRPCValue.double(value).encoded() == "<value><double>\(repr)</double></value>\n")
        let call = try MethodCall(decoding: MethodCall(methodName: "m", params: [.double(value)]).encoded())
        #expect(call.params == [.double(value)])
    }
}
