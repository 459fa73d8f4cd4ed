import TestSupport
import SM
import SMAPI
import Testing
import XMLRPC

typealias SeededGenerator = SplitMix64

/// Random mutations of valid requests: each parses or throws `SMAPIRequestError`; none
/// crashes or hangs, and whatever parses carries only well-formed uuids.
@Suite struct SMAPIFuzzTests {
    static let seeds: [String] = [
        SMAPIRequestTests.driverInfoRequest,
        Xapi.methodCall("vdi_create", SMAPIRequestTests.vdiCreateParams),
        MethodCall(methodName: "vdi_create", params: [SMAPIRequestTests.vdiCreateParams]).encoded(),
        Xapi.methodCall("vdi_attach", Xapi.request("vdi_attach", args: ["true"])),
        Xapi.methodCall("vdi_resize", Xapi.request("vdi_resize", args: ["1073741824"])),
        Xapi.methodCall(
            "vdi_activate", Xapi.request("vdi_activate", args: ["false"], changes: ["vdi_on_boot": "persist"])),
    ]

    static let tokens: [[UInt8]] = [
        "<", ">", "</", "&", "&amp;", "&#1;", "../", "/", "-", "0", "f", "true", "false", "<value>", "</value>",
        "<value/>",
        "<string>", "</string>", "<i4>", "<member><name>sr_uuid</name><value>../x</value></member>", "<array><data>",
        "</data></array>", "中", "\u{0}",
    ].map { Array($0.utf8) }

    @Test func fiveThousandSeededMutationsNeverCrash() {
        var generator = SeededGenerator(state: 0x5EED_5A41)
        var parsed = 0
        for round in 0..<5_000 {
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
            for _ in 0..<Int.random(in: 1...3, using: &generator) { Self.mutate(&bytes, using: &generator) }
            let document = String(decoding: bytes, as: UTF8.self)
            guard let request = try? SMAPIRequest(parsing: document) else { continue }
            parsed += 1
            for uuid in [request.srUUID, request.vdiUUID, request.vdiLocation, request.newUUID, request.localCacheSR] {
                if let uuid { #expect(Identifier.isUUID(uuid), "\(uuid)") }
            }
            if let arguments = request.vdiCreateArguments {
                #expect(XMLCharacter.isLegal(arguments.nameLabel) && XMLCharacter.isLegal(arguments.nameDescription))
            }
        }
        #expect(parsed > 100)
    }

    static func mutate(_ bytes: inout [UInt8], using generator: inout SeededGenerator) {
        guard !bytes.isEmpty else { return }
        let position = Int.random(in: 0..<bytes.count, using: &generator)
        switch Int.random(in: 0..<5, using: &generator) {
        case 0:
            bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
        case 1:
            let end = min(bytes.count, position + Int.random(in: 1...16, using: &generator))
            bytes.removeSubrange(position..<end)
        case 2:
            let end = min(bytes.count, position + Int.random(in: 1...64, using: &generator))
            bytes.insert(contentsOf: bytes[position..<end], at: position)
        case 3:
            bytes.insert(contentsOf: tokens[Int.random(in: 0..<tokens.count, using: &generator)], at: position)
        default:
            bytes[position] = UInt8.random(in: 0x20...0x7E, using: &generator)
        }
    }
}
