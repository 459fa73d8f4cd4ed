import Foundation
import SM
import TestSupport
import Testing
import XMLRPC

/// The built `sm` executable next to the test bundle, run as the `EXTSR` plugin through a
/// symbolic link in a private directory, with every piece of host state (locks, refcounts,
/// mount points, registry) in that directory too.
final class PluginHarness: @unchecked Sendable {
    /// `sm` in the build directory, when `swift build` made it.
    static let binary: String? = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("sm").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    let directory: TemporaryDirectory
    let plugin: String
    /// The directory given as `device-config:path`.
    let srParent: String
    let environment: [String: String]

    init() throws {
        directory = try TemporaryDirectory(prefix: "sm-dispatch")
        for name in ["plugins", "srs", "state"] {
            try FileManager.default.createDirectory(
                atPath: directory.path(for: name), withIntermediateDirectories: true)
        }
        plugin = directory.path(for: "plugins/EXTSR")
        try FileManager.default.createSymbolicLink(atPath: plugin, withDestinationPath: try #require(Self.binary))
        srParent = directory.path(for: "srs")
        environment = [
            "SM_LOCK_DIR": directory.path(for: "lock"), "SM_REFCOUNT_DIR": directory.path(for: "refcount"),
            "SM_MOUNT_BASE": directory.path(for: "mnt"), "SM_STATE_DIR": directory.path(for: "state"),
            // These tests read the chains each command leaves; no collector may change them after.
            "SM_AUTO_GC": "0",
            "SM_DATAPATH_DIR": directory.path(for: "nbd"),
        ]
    }

    /// The NBD URI `vdi_attach` answers for `vdi`: its datapath daemon's socket and export.
    func nbdURI(_ vdi: String) -> String {
        "nbd:unix:\(directory.path(for: "nbd"))/\(vdi).sock:exportname=\(vdi)"
    }

    /// Unmounts whatever a failed test left mounted in the directory (device SRs).
    deinit {
        for entry in MountTable.entries().reversed() where entry.mountPoint.hasPrefix(directory.path + "/") {
            _ = ExternalCommand("umount", ["-l", entry.mountPoint]).run()
        }
    }

    /// Whether device SRs can be tested: root, the ext4 tools, and loop mounts.
    static let canMountLoopDevices: Bool = {
        guard geteuid() == 0, ExternalCommand.locate("mkfs.ext4") != nil, ExternalCommand.locate("losetup") != nil,
            let directory = try? TemporaryDirectory(prefix: "sm-loop-probe")
        else { return false }
        let image = directory.path(for: "probe.img")
        let mountPoint = directory.path(for: "mnt")
        guard FileManager.default.createFile(atPath: image, contents: nil),
            truncate(image, 16 << 20) == 0, mkdir(mountPoint, 0o755) == 0,
            ExternalCommand("mkfs.ext4", ["-F", "-q", image]).run().succeeded,
            ExternalCommand("mount", ["-o", "loop", image, mountPoint]).run().succeeded
        else { return false }
        _ = ExternalCommand("umount", [mountPoint]).run()
        return true
    }()

    /// The plugin run with `arguments` (normally one: a methodCall document).
    func run(_ arguments: [String], as name: String = "EXTSR") async throws -> ToolResult {
        var path = plugin
        if name != "EXTSR" {
            path = directory.path(for: "plugins/" + name)
            if !FileManager.default.fileExists(atPath: path) {
                try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: try #require(Self.binary))
            }
        }
        return try await Tool(name: name, path: path).run(arguments, environment: environment, timeout: 60)
    }

    /// Sends `command` as xapi would (bare string values) and decodes the reply.
    func call(
        _ command: String, args: [String] = [], sr: String? = nil, vdi: String? = nil,
        deviceConfig: [String: String]? = nil, extra: [XMLRPCValue.Member] = []
    ) async throws -> PluginReply {
        let document = Xapi.methodCall(
            command, request(command, args: args, sr: sr, vdi: vdi, deviceConfig: deviceConfig, extra: extra))
        return try PluginReply(try await run([document]))
    }

    /// The request struct xapi sends: host and session refs, `device_config` with `SRmaster`,
    /// the SR and VDI members when given.
    func request(
        _ command: String, args: [String], sr: String?, vdi: String?, deviceConfig: [String: String]?,
        extra: [XMLRPCValue.Member]
    ) -> XMLRPCValue {
        var config = deviceConfig ?? ["path": srParent]
        if config["SRmaster"] == nil { config["SRmaster"] = "true" }
        var members: [XMLRPCValue.Member] = [
            .init("host_ref", "OpaqueRef:133c7c46-f4d9-3695-83c4-bf8574b89fb9"),
            .init("command", .string(command)),
            .init("args", .array(args.map { .string($0) })),
            .init("device_config", .struct(config.sorted { $0.key < $1.key }.map { .init($0.key, .string($0.value)) })),
            .init("session_ref", "OpaqueRef:c2c628b6-93c3-5e29-00cf-4f15a34e1555"),
        ]
        if let sr {
            members += [
                .init("sr_ref", "OpaqueRef:c523a79a-8a60-121c-832e-d507586cb117"), .init("sr_uuid", .string(sr)),
            ]
        }
        if let vdi {
            members += [
                .init("vdi_ref", "OpaqueRef:9d2c1f3e-0000-4000-8000-000000000001"), .init("vdi_uuid", .string(vdi)),
                .init("vdi_location", .string(vdi)),
            ]
        }
        return .struct(members + extra)
    }

    // MARK: Steps most tests need

    /// A new SR, created and attached.
    func createSR() async throws -> String {
        let uuid = Identifier.newUUID()
        try await call("sr_create", args: ["0"], sr: uuid).requireNil()
        try await call("sr_attach", sr: uuid).requireNil()
        return uuid
    }

    /// A new VDI of `size` bytes; its uuid.
    func createVDI(
        in sr: String, size: UInt64 = 64 << 20, label: String = "disk", smConfig: [String: String] = [:],
        deviceConfig: [String: String]? = nil
    ) async throws -> String {
        let reply = try await call(
            "vdi_create", args: [String(size), label, "a test disk", "", "false", "19700101T00:00:00Z", "", "false"],
            sr: sr, deviceConfig: deviceConfig,
            extra: [
                .init("vdi_type", "user"),
                .init("vdi_sm_config", .struct(smConfig.map { .init($0.key, .string($0.value)) })),
            ])
        return try reply.requireVDI().uuid
    }

    /// The SR's directory (`<path>/<sr_uuid>`).
    func srDirectory(_ sr: String) -> String { srParent + "/" + sr }
}

/// A plugin's reply: the process's exit status and output, and the decoded response.
struct PluginReply: CustomStringConvertible {
    let result: ToolResult
    let response: MethodResponse

    init(_ result: ToolResult) throws {
        self.result = result
        response = try MethodResponse(decoding: result.output)
    }

    var text: String { result.output }
    var description: String { result.description }

    var fault: XMLRPCFault? {
        if case .fault(let fault) = response { return fault }
        return nil
    }

    var value: XMLRPCValue? {
        if case .params(let values) = response, values.count == 1 { return values[0] }
        return nil
    }

    @discardableResult
    func requireNil(sourceLocation: SourceLocation = #_sourceLocation) throws -> PluginReply {
        #expect(result.status == 0, sourceLocation: sourceLocation)
        guard value == .nil else {
            Issue.record("expected a nil reply, got \(text)", sourceLocation: sourceLocation)
            throw ReplyError.unexpected(text)
        }
        #expect(text == PluginReply.nilText, sourceLocation: sourceLocation)
        return self
    }

    /// The `{location, uuid}` struct, members in SM's order.
    func requireVDI(sourceLocation: SourceLocation = #_sourceLocation) throws -> (location: String, uuid: String) {
        #expect(result.status == 0, sourceLocation: sourceLocation)
        guard let members = value?.structMembers, members.map(\.name) == ["location", "uuid"],
            let location = members[0].value.stringValue, let uuid = members[1].value.stringValue
        else {
            Issue.record("expected a {location, uuid} reply, got \(text)", sourceLocation: sourceLocation)
            throw ReplyError.unexpected(text)
        }
        #expect(location == uuid && Identifier.isUUID(uuid), sourceLocation: sourceLocation)
        return (location, uuid)
    }

    func requireString(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        #expect(result.status == 0, sourceLocation: sourceLocation)
        guard let text = value?.stringValue else {
            Issue.record("expected a string reply, got \(self.text)", sourceLocation: sourceLocation)
            throw ReplyError.unexpected(self.text)
        }
        return text
    }

    /// Checks the reply is a fault with `code` whose string starts with `prefix`, exit status 0.
    func expectFault(_ code: Int32, _ prefix: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 0, "the plugin must exit 0 even on error", sourceLocation: sourceLocation)
        guard let fault else {
            Issue.record("expected fault \(code), got \(text)", sourceLocation: sourceLocation)
            return
        }
        #expect(fault.code == code, "\(fault.string)", sourceLocation: sourceLocation)
        if let prefix { #expect(fault.string.hasPrefix(prefix), "\(fault.string)", sourceLocation: sourceLocation) }
        #expect(
            text.hasSuffix("</methodResponse>\n\n"), "a fault ends in print's blank line",
            sourceLocation: sourceLocation)
    }

    /// SM's nil reply, verbatim (`tests/test_util.py test_return_nil`) plus print's newline.
    static let nilText =
        "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><nil/></value></param>\n</params>\n</methodResponse>\n\n"
}

enum ReplyError: Error {
    case unexpected(String)
}
