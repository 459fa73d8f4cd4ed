import SM
import SMAPI
import Testing
import XMLRPC

/// Hostile and malformed requests: each is refused with an error naming the command and the
/// member or argument, and maps to SM's fault.
@Suite struct SMAPIRequestErrorTests {
    static func parse(document: String) -> SMAPIRequestError? {
        do {
            _ = try SMAPIRequest(parsing: document)
            return nil
        } catch {
            return error
        }
    }

    static func parse(_ command: String, args: [String] = [], changes: KeyValuePairs<String, XMLRPCValue?> = [:])
        -> SMAPIRequestError?
    {
        parse(document: Xapi.methodCall(command, Xapi.request(command, args: args, changes: changes)))
    }

    static func parse(_ call: MethodCall) -> SMAPIRequestError? {
        do {
            _ = try SMAPIRequest(parsing: call)
            return nil
        } catch {
            return error
        }
    }

    @Test func malformedXMLIsABadRequest() {
        let error = Self.parse(document: "<methodCall><methodName>sr_scan</methodName>")
        guard case .malformedXML(.unexpectedEndOfDocument)? = error else {
            Issue.record("expected malformedXML, got \(String(describing: error))")
            return
        }
        #expect(error?.srError.code.number == 143 /* BadRequest */)
        #expect(error?.srError.code.number == 143)
        #expect(
            error?.srError.faultString.hasPrefix(
                "Failed to parse the request [opterr=request is not a valid XML-RPC methodCall") == true)
        guard case .malformedXML(.wrongRootElement)? = Self.parse(document: "<methodResponse/>") else {
            Issue.record("expected wrongRootElement")
            return
        }
        guard
            case .malformedXML(.missingElement("methodName", in: "methodCall", at: _))? = Self.parse(
                document: "<methodCall/>")
        else {
            Issue.record("expected missing methodName")
            return
        }
    }

    @Test func unknownCommandsAndShapes() {
        #expect(Self.parse("vdi_frobnicate") == .unknownCommand("vdi_frobnicate"))
        #expect(Self.parse(MethodCall(methodName: "sr_scan")) == .wrongParameterCount(command: "sr_scan", found: 0))
        #expect(
            Self.parse(MethodCall(methodName: "sr_scan", params: [[], []]))
                == .wrongParameterCount(command: "sr_scan", found: 2))
        #expect(
            Self.parse(MethodCall(methodName: "sr_scan", params: ["x"]))
                == .parameterNotAStruct(command: "sr_scan", found: "string"))
        #expect(
            Self.parse("sr_scan", changes: ["command": "sr_delete"])
                == .commandMismatch(methodName: "sr_scan", command: "sr_delete"))
        #expect(
            Self.parse("sr_scan", changes: ["device_config": nil]) == .missingMember("device_config", command: .srScan))
        #expect(Self.parse("sr_scan", changes: ["sr_uuid": nil]) == .missingMember("sr_uuid", command: .srScan))
        #expect(Self.parse("vdi_delete", changes: ["vdi_uuid": nil]) == .missingMember("vdi_uuid", command: .vdiDelete))
        #expect(
            Self.parse("vdi_introduce", changes: ["new_uuid": nil])
                == .missingMember("new_uuid", command: .vdiIntroduce))
        #expect(
            Self.parse("vdi_create", args: ["1", "a", "b", "", "false", "", "", "false"], changes: ["vdi_uuid": nil])
                == nil)
        #expect(Self.parse("sr_probe", changes: ["sr_uuid": nil]) == nil)
        #expect(Self.parse("sr_scan", changes: ["command": nil, "args": nil, "host_ref": nil]) == nil)
    }

    @Test func wrongMemberTypesNameTheMember() {
        #expect(
            Self.parse("sr_scan", changes: ["sr_uuid": .int(5)])
                == .wrongMemberType("sr_uuid", expected: "string", found: "int", command: .srScan))
        #expect(
            Self.parse("sr_scan", changes: ["device_config": "x"])
                == .wrongMemberType("device_config", expected: "struct", found: "string", command: .srScan))
        #expect(
            Self.parse("sr_scan", changes: ["device_config": ["device": .int(1)]])
                == .wrongMemberType("device_config.device", expected: "string", found: "int", command: .srScan))
        #expect(
            Self.parse("sr_scan", changes: ["args": "x"])
                == .wrongMemberType("args", expected: "array", found: "string", command: .srScan))
        #expect(
            Self.parse("vdi_attach", changes: ["args": [.boolean(true)]])
                == .wrongMemberType("args[0]", expected: "string", found: "boolean", command: .vdiAttach))
        #expect(
            Self.parse("vdi_activate", args: ["true"], changes: ["vdi_on_boot": "sometimes"])
                == .invalidMemberValue(
                    "vdi_on_boot", value: "sometimes", expected: "persist or reset", command: .vdiActivate))
        #expect(
            Self.parse("vdi_activate", args: ["true"], changes: ["vdi_allow_caching": "yes"])
                == .invalidMemberValue(
                    "vdi_allow_caching", value: "yes", expected: "true or false", command: .vdiActivate))
    }

    @Test func wrongArgumentCountsNameTheCommandAndItsArguments() {
        let error = Self.parse("vdi_create", args: ["1", "label"])
        #expect(
            error
                == .wrongArgumentCount(
                    command: .vdiCreate,
                    expected: [
                        "size", "name_label", "name_description", "metadata_of_pool", "is_a_snapshot", "snapshot_time",
                        "snapshot_of", "read_only",
                    ], found: 2))
        #expect(
            error?.description
                == "vdi_create: expected 8 arguments (size, name_label, name_description, metadata_of_pool, is_a_snapshot, snapshot_time, snapshot_of, read_only), found 2"
        )
        #expect(Self.parse("vdi_attach") == .wrongArgumentCount(command: .vdiAttach, expected: ["writable"], found: 0))
        #expect(Self.parse("sr_scan", args: ["extra"]) == .wrongArgumentCount(command: .srScan, expected: [], found: 1))
        #expect(
            Self.parse("sr_create", args: ["1", "2"])
                == .wrongArgumentCount(command: .srCreate, expected: ["size"], found: 2))
    }

    @Test(arguments: ["", "-1", "1e9", " 5", "5 ", "0x10", "18446744073709551616", "１２", "1.5", "+5"])
    func malformedSizesNameTheCommandAndArgument(text: String) {
        #expect(
            Self.parse("sr_create", args: [text]) == .malformedNumber(command: .srCreate, argument: "size", text: text))
        #expect(
            Self.parse("vdi_resize", args: [text])
                == .malformedNumber(command: .vdiResize, argument: "new_size", text: text))
        #expect(
            Self.parse("vdi_create", args: [text, "a", "b", "", "false", "", "", "false"])
                == .malformedNumber(command: .vdiCreate, argument: "size", text: text))
    }

    @Test(arguments: ["", "True", "1", "yes", "false "])
    func malformedFlagsNameTheCommandAndArgument(text: String) {
        #expect(
            Self.parse("vdi_attach", args: [text])
                == .malformedBoolean(command: .vdiAttach, argument: "writable", text: text))
        #expect(
            Self.parse("vdi_create", args: ["1", "a", "b", "", "false", "", "", text])
                == .malformedBoolean(command: .vdiCreate, argument: "read_only", text: text))
        #expect(
            Self.parse("vdi_create", args: ["1", "a", "b", "", text, "", "", "false"])
                == .malformedBoolean(command: .vdiCreate, argument: "is_a_snapshot", text: text))
    }

    @Test(arguments: [
        "../x", "..", "", "a/b", "13C4384E-897B-E745-6B3E-9A89C06537BE", "13c4384e-897b-e745-6b3e-9a89c06537be/..",
        "13c4384e897be7456b3e9a89c06537be", " 13c4384e-897b-e745-6b3e-9a89c06537be", "/etc/passwd",
        String(repeating: "a", count: 100_000),
    ])
    func hostileUUIDsAreRefusedNeverPassedOn(value: String) {
        for member in ["sr_uuid", "vdi_uuid", "vdi_location", "new_uuid"] {
            let error = Self.parse("vdi_snapshot", changes: [member: .string(value)])
            #expect(error == .invalidUUID(member: member, value: value, command: .vdiSnapshot))
            #expect(error?.srError.code.number == 143 /* BadRequest */)
            #expect((error?.description.count ?? 0) < 200)
        }
        if !value.isEmpty {
            #expect(
                Self.parse("vdi_activate", args: ["true"], changes: ["local_cache_sr": .string(value)])
                    == .invalidUUID(member: "local_cache_sr", value: value, command: .vdiActivate))
        }
    }

    @Test func illegalXMLCharactersInALabelAreSMs447() {
        for (index, argument) in [(1, "name_label"), (2, "name_description")] {
            var args = ["1", "ok", "ok", "", "false", "", "", "false"]
            args[index] = "bad\u{1}label"
            let call = MethodCall(methodName: "vdi_create", params: [Xapi.request("vdi_create", args: args)])
            let error = Self.parse(call)
            #expect(error == .illegalXMLCharacter(command: .vdiCreate, argument: argument, scalar: 1))
            #expect(error?.srError.code.number == 447 /* IllegalXMLChar */)
            #expect(error?.srError.code.number == 447)
            #expect(
                error?.srError.faultString
                    == "Illegal XML character. [opterr=\(SMAPIRequestError.illegalXMLCharExplanation)]")
        }
        var args = ["1", "\u{FFFE}", "ok", "", "false", "", "", "false"]
        #expect(
            Self.parse(MethodCall(methodName: "vdi_create", params: [Xapi.request("vdi_create", args: args)]))
                == .illegalXMLCharacter(command: .vdiCreate, argument: "name_label", scalar: 0xFFFE))
        // In a document, the character is already refused by the XML layer.
        args[1] = "x"
        let document = Xapi.methodCall("vdi_create", Xapi.request("vdi_create", args: args)).replacingFirst(
            ">x<", with: ">&#1;<")
        guard case .malformedXML(.illegalCharacter(scalar: 1, at: _))? = Self.parse(document: document) else {
            Issue.record("expected the XML layer to refuse &#1;")
            return
        }
    }

    @Test func hugeRequestsAreRefusedQuickly() {
        let label = String(repeating: "x", count: 5 << 20)
        let error = Self.parse(
            document: Xapi.methodCall(
                "vdi_create", Xapi.request("vdi_create", args: ["1", label, "", "", "false", "", "", "false"])))
        guard case .malformedXML(.documentTooLarge)? = error else {
            Issue.record("expected documentTooLarge, got \(String(describing: error))")
            return
        }
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}
