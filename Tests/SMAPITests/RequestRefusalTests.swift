import Foundation
import SM
import TestSupport
import Testing
import XMLRPC

/// Issue 8, finding 8, through the real `EXTSR` plugin: requests that must be refused with a
/// fault and change nothing, rather than be repaired (invalid UTF-8 into U+FFFD) or accepted
/// (a VDI uuid that is the SR's).
@Suite(.enabled(if: PluginHarness.binary != nil, "needs the built sm executable"), .timeLimit(.minutes(2)))
struct RequestRefusalTests {
    let harness: PluginHarness

    init() throws { harness = try PluginHarness() }

    @Test func aDocumentWithInvalidUTF8IsAFaultNamingTheOffsetAndChangesNothing() async throws {
        let sr = try await harness.createSR()
        let before = try harness.volumes(of: sr)
        let members = harness.request(
            "vdi_create", args: [String(8 << 20), "PLACEHOLDER", "", "", "false", "", "", "false"], sr: sr, vdi: nil,
            deviceConfig: nil, extra: [.init("vdi_type", "user"), .init("vdi_sm_config", .struct([]))])
        let text = Array(Xapi.methodCall("vdi_create", members).utf8)
        let placeholder = Array("PLACEHOLDER".utf8)
        let at = try #require(text.indices.first { text[$0...].starts(with: placeholder) })
        for bad: [UInt8] in [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE4, 0xB8]] {
            let document = Array(text[..<at]) + Array("disk".utf8) + bad + Array(text[(at + placeholder.count)...])
            let reply = try PluginReply(try await harness.runRaw(document))
            reply.expectFault(143, "Failed to parse the request")
            #expect(reply.fault?.string.contains("invalid UTF-8 at byte offset \(at + 4)") == true, "\(reply)")
        }
        #expect(try harness.volumes(of: sr) == before)
        let scanned = try await harness.call("sr_scan", sr: sr)
        #expect(scanned.result.status == 0)
        #expect(try harness.volumes(of: sr) == before, "no VDI appeared")
    }

    @Test func vdiCreateWithTheSRsUUIDIsRefused() async throws {
        let sr = try await harness.createSR()
        let before = try harness.volumes(of: sr)
        let reply = try await harness.call(
            "vdi_create", args: [String(8 << 20), "twin", "", "", "false", "", "", "false"], sr: sr, vdi: sr,
            extra: [.init("vdi_type", "user"), .init("vdi_sm_config", .struct([]))])
        reply.expectFault(78, "VDI Creation failed")
        #expect(reply.fault?.string.contains("VDI uuid \(sr) is the uuid of its SR") == true, "\(reply)")
        #expect(try harness.volumes(of: sr) == before)
    }
}

extension PluginHarness {
    /// The plugin run with `document` as its argument byte for byte, through a shell (Foundation
    /// would pass a String, which cannot hold bytes that are not UTF-8).
    func runRaw(_ document: [UInt8]) async throws -> ToolResult {
        let file = directory.path(for: "request-\(UUID().uuidString).xml")
        #expect(FileManager.default.createFile(atPath: file, contents: Data(document)))
        let shell = Tool(name: "sh", path: "/bin/sh")
        let script = "exec \"$0\" \"$(cat \"$1\")\""
        return try await shell.run(["-c", script, plugin, file], environment: environment, timeout: 60)
    }

    /// The VDI volumes in SR `sr`'s directory (the upkeep's spare leaves come and go on their own).
    func volumes(of sr: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: srDirectory(sr))
            .filter { $0.hasSuffix(".vhd") || $0.hasSuffix(".raw") }.sorted()
    }
}
