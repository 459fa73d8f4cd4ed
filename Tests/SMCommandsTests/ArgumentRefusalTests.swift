import Foundation
import TestSupport
import Testing

/// Issue 8, finding 8: arguments `sm` must refuse rather than repair or accept. Bytes that
/// are not UTF-8 reach `sm` only through a shell (Foundation passes arguments as Strings).
@Suite(.enabled(if: CLIHarness.binary != nil, "needs the built sm executable"), .timeLimit(.minutes(2)))
struct ArgumentRefusalTests {
    let sm: CLIHarness

    init() throws { sm = try CLIHarness() }

    @Test func invalidUTF8InAnyArgumentIsRefusedAndCreatesNothing() async throws {
        let sr = try await sm.createSR()
        let root = sm.srParent + "/" + sr
        let before = try sm.volumes(in: root)
        // `$(printf '\377')` is the byte 0xFF; `\300\257` an overlong '/', `\355\240\200` a surrogate.
        let cases: [(arguments: String, shown: String)] = [
            ("vdi-create virtual-size=8MiB \"name-label=$(printf '\\377')\"", "name-label=\\xFF"),
            (
                "vdi-create virtual-size=8MiB \"name-description=a$(printf '\\300\\257')\"",
                "name-description=a\\xC0\\xAF"
            ),
            ("vdi-create virtual-size=8MiB \"name-label=$(printf 'ok\\355\\240\\200')\"", "name-label=ok\\xED\\xA0\\x80"),
            ("sr-create device-config:path=\(sm.srParent) \"name-label=$(printf '\\377')\"", "name-label=\\xFF"),
        ]
        for (arguments, shown) in cases {
            let result = try sm.throughShell(arguments)
            #expect(result.status != 0, "\(result)")
            #expect(result.errorOutput.contains("argument 3 (\(shown)) is not valid UTF-8 at byte offset"), "\(result)")
        }
        #expect(try sm.volumes(in: root) == before)
        await #expect(try sm.json([VDIListingJSON].self, "vdi-list").first?.vdis.isEmpty == true)
        await #expect(try sm.json([SREntryJSON].self, "sr-list").count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: sm.srParent) == [sr])
        // Valid multi-byte UTF-8 passes the same way.
        let accepted = try sm.throughShell("vdi-create virtual-size=8MiB \"name-label=$(printf '\\344\\270\\255')\"")
        #expect(accepted.status == 0, "\(accepted)")
        await #expect(try sm.json([VDIListingJSON].self, "vdi-list").first?.vdis.map(\.nameLabel) == ["中"])
    }

    /// (`vdi-import uuid=` names an existing VDI to fill, so only `vdi-create` chooses a new
    /// VDI's uuid; the engine's import is covered by `NewVDIUUIDTests`.)
    @Test func aVDICannotTakeItsSRsUUID() async throws {
        let sr = try await sm.createSR()
        let before = try sm.volumes(in: sm.srParent + "/" + sr)
        let refused = try await sm.run("vdi-create", "uuid=\(sr)", "virtual-size=8MiB")
        #expect(refused.status != 0, "\(refused)")
        #expect(refused.errorOutput.contains("SR error 78 (VDICreate)"), "\(refused)")
        #expect(refused.errorOutput.contains("VDI uuid \(sr) is the uuid of its SR"), "\(refused)")
        #expect(try sm.volumes(in: sm.srParent + "/" + sr) == before)
        await #expect(try sm.json([VDIListingJSON].self, "vdi-list").first?.vdis.isEmpty == true)
    }
}

extension CLIHarness {
    /// The VDI volumes in SR directory `root` (the upkeep's spare leaves come and go on their own).
    func volumes(in root: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root)
            .filter { $0.hasSuffix(".vhd") || $0.hasSuffix(".raw") }.sorted()
    }

    /// `sh -c 'exec sm <arguments>'`: `arguments` is shell text, so it can hold any bytes.
    func throughShell(_ arguments: String) throws -> ToolResult {
        let shell = Tool(name: "sh", path: "/bin/sh")
        return try shell.run(["-c", "exec \"$0\" \(arguments)", try #require(Self.binary)], environment: environment)
    }
}
