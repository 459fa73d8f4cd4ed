import TestSupport
import Testing
import XMLRPC

typealias SeededGenerator = SplitMix64

/// Random mutations of valid documents: each either decodes or throws `XMLRPCError`; none
/// crashes or hangs, and whatever decodes re-encodes into a document that decodes again.
@Suite struct FuzzTests {
    static let seeds: [String] = [
        MethodCallDecodingTests.driverInfoRequest,
        MethodCall(
            methodName: "vdi_create",
            params: [
                [
                    "host_ref": "OpaqueRef:1", "args": ["10737418240", "中文 & <x>", "", "false"],
                    "device_config": ["SRmaster": "true"], "n": .nil, "d": 1.5, "b": true, "i": 7,
                    "t": .dateTime("19700101T00:00:00Z"), "raw": .base64(Array(0..<100)),
                ]
            ]
        ).encoded(),
        MethodResponse.fault(XMLRPCFault(code: 144, string: "VDI could not be found")).encoded(),
        "<?xml version='1.0'?><!-- c --><methodCall><methodName>m</methodName><params><param><value><![CDATA[x]]>&amp;&#65;</value></param></params></methodCall>",
    ]

    static let tokens: [[UInt8]] = [
        "<", ">", "/>", "</", "&", "&amp;", "&#", "&#x", ";", "<![CDATA[", "]]>", "<!--", "-->", "<?", "?>",
        "<value>", "</value>", "<struct>", "<member>", "<name>", "<array><data>", "<nil/>", "<i4>", "<int>",
        "<boolean>", "<double>", "<base64>", "\"", "'", "=", " ", "\r", "\n", "<!DOCTYPE", "\u{0}", "\u{FFFE}",
        "中", "<methodCall>", "</methodCall>", "<methodResponse>", "<fault>", "<params>", "<param>",
    ].map { Array($0.utf8) }

    @Test func fiveThousandSeededMutationsNeverCrash() {
        var generator = SeededGenerator(state: 0x5EED_0003)
        var decodedCount = 0
        for round in 0..<5_000 {
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
            for _ in 0..<Int.random(in: 1...4, using: &generator) { Self.mutate(&bytes, using: &generator) }
            if let call = try? MethodCall(decoding: bytes) {
                decodedCount += 1
                Self.expectStableReencoding(of: call)
            }
            if let response = try? MethodResponse(decoding: bytes) {
                decodedCount += 1
                #expect((try? MethodResponse(decoding: response.encoded())) != nil)
            }
        }
        // The mutations must leave some documents valid, or the re-encoding check is idle.
        #expect(decodedCount > 100)
    }

    /// A sequence that is not UTF-8 dropped anywhere into a valid document is always refused as
    /// such, never decoded with U+FFFD in its place.
    @Test func invalidUTF8AnywhereIsRefusedWithItsOffset() {
        var generator = SeededGenerator(state: 0x5EED_0008)
        let sequences: [[UInt8]] = [
            [0xFF], [0xFE], [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE4, 0xB8],
        ]
        for round in 0..<2_000 {
            let sequence = sequences[round % sequences.count]
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
            let position = Int.random(in: 0...bytes.count, using: &generator)
            bytes.insert(contentsOf: sequence, at: position)
            var errors: [XMLRPCError?] = []
            do {
                _ = try MethodCall(decoding: bytes)
                errors.append(nil)
            } catch {
                errors.append(error)
            }
            do {
                _ = try MethodResponse(decoding: bytes)
                errors.append(nil)
            } catch {
                errors.append(error)
            }
            for error in errors {
                guard case .invalidUTF8(let at)? = error else {
                    Issue.record("\(sequence) inserted at \(position): \(String(describing: error))")
                    continue
                }
                // Inside a multi-byte character the error is at its lead byte, or at a continuation
                // byte the insertion left without one.
                #expect(
                    (position - 3...position + 3).contains(at.byteOffset), "inserted at \(position), reported \(at)")
            }
        }
    }

    static func expectStableReencoding(of call: MethodCall) {
        do {
            let once = try MethodCall(decoding: call.encoded()).encoded()
            let twice = try MethodCall(decoding: once).encoded()
            #expect(once == twice)
        } catch {
            Issue.record("re-encoded call does not decode: \(error)\n\(call.encoded())")
        }
    }

    static func mutate(_ bytes: inout [UInt8], using generator: inout SeededGenerator) {
        guard !bytes.isEmpty else {
            bytes = tokens.randomElement(using: &generator) ?? []
            return
        }
        let position = Int.random(in: 0..<bytes.count, using: &generator)
        switch Int.random(in: 0..<6, using: &generator) {
        case 0:
            bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
        case 1:
            bytes[position] = UInt8.random(in: 0...255, using: &generator)
        case 2:
            let end = min(bytes.count, position + Int.random(in: 1...16, using: &generator))
            bytes.removeSubrange(position..<end)
        case 3:
            let end = min(bytes.count, position + Int.random(in: 1...64, using: &generator))
            bytes.insert(contentsOf: bytes[position..<end], at: position)
        case 4:
            bytes.insert(contentsOf: tokens[Int.random(in: 0..<tokens.count, using: &generator)], at: position)
        default:
            bytes.removeSubrange(position...)
        }
    }
}
