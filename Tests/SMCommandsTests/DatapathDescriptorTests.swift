import Datapath
import Foundation
import SM
import TestSupport
import Testing

/// The datapath daemon opens the SR it serves through the SR's driver, from a descriptor file
/// it is handed: device-config (which may hold secrets) never reaches a command line, and a
/// descriptor that is missing, readable by others, malformed, of an unknown type or of another
/// SR stops the daemon with a message naming what is wrong.
@Suite(
    .serialized, .enabled(if: CLIHarness.binary != nil, "needs sm and sm-datapathd built next to the tests"),
    .timeLimit(.minutes(3)))
struct DatapathDescriptorTests {
    static let daemonBinary = CLIHarness.binary.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path + "/sm-datapathd" }

    /// The NUL-separated arguments in `/proc/<pid>/cmdline`.
    static func commandLine(of pid: pid_t) throws -> [String] {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
        return bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func theDaemonIsHandedADescriptorFileAndNoDeviceConfig() async throws {
        let cli = try CLIHarness()
        let secret = "chap-\(Identifier.newUUID())"
        let sr = try await cli.ok(
            "sr-create", "device-config:path=\(cli.srParent)", "device-config:chappassword=\(secret)", "name-label=d")
        let vdi = try await cli.ok("vdi-create", "sr=\(sr)", "virtual-size=64MiB")
        try await cli.ok("vdi-attach", "uuid=\(vdi)")
        defer { _ = try? cli.run("vdi-detach", "uuid=\(vdi)") }

        let descriptorFile = cli.path("nbd/\(vdi).sr")
        let arguments = try Self.commandLine(of: try cli.daemonPID(vdi))
        let sr_ = try #require(arguments.firstIndex(of: "--sr"))
        #expect(arguments[sr_ + 1] == descriptorFile)
        #expect(!arguments.contains { $0.contains(secret) || $0.contains(cli.srParent) }, "\(arguments)")
        var info = stat()
        #expect(stat(descriptorFile, &info) == 0 && info.st_mode & 0o777 == 0o600)
        let descriptor = try SRDescriptor.read(from: descriptorFile)
        #expect(descriptor == SRDescriptor(type: "ext", srUUID: sr, deviceConfig: ["path": cli.srParent, "chappassword": secret]))

        // The daemon serves volumes of that SR only: a path, or a name outside it, is refused.
        let client = DatapathClient(controlPath: cli.path("nbd/\(vdi).control"), replyTimeout: 10)
        for hostile in ["/etc/passwd", "../\(vdi).vhd", "sm-metadata.json"] {
            let refused = try await onOwnThread { Result { () throws(DatapathError) in try client.open(export: "x", path: hostile, readOnly: true) } }
            guard case .failure(.refused(let message)) = refused else {
                Issue.record("\(hostile) was served: \(refused)")
                continue
            }
            #expect(message.contains("not a VDI volume"), "\(message)")
        }
        // The served VDI answers its size through an NBD client, as before.
        if Tool.isAvailable("nbdinfo") {
            let size = try await Tool.require("nbdinfo").run(
                ["--size", "nbd+unix:///\(vdi)?socket=\(cli.path("nbd/\(vdi).sock"))"], timeout: 20
            ).requireSuccess()
            #expect(size.output.trimmingCharacters(in: .whitespacesAndNewlines) == String(64 << 20))
        }
    }

    /// Starts the daemon on `descriptor` and returns why it did not start.
    static func refusal(_ directory: TemporaryDirectory, descriptor: String) async throws -> String {
        let binary = try #require(daemonBinary)
        let outcome = try await onOwnThread {
            Result { () throws(DatapathError) in
                try DatapathLauncher.spawn(
                    executable: binary, socketPath: directory.path(for: "s"), controlPath: directory.path(for: "c"),
                    pidFile: directory.path(for: "p"), logPath: directory.path(for: "log"), srDescriptor: descriptor,
                    startupTimeout: 10)
            }
        }
        guard case .failure(.launchFailed(_, let log)) = outcome else {
            if case .success(let pid) = outcome { kill(pid, SIGKILL) }
            Issue.record("the daemon started on \(descriptor): \(outcome)")
            return ""
        }
        return log
    }

    @Test func aBadDescriptorStopsTheDaemonSayingWhy() async throws {
        let cli = try CLIHarness()
        let sr = try await cli.createSR()
        let directory = try TemporaryDirectory(prefix: "descriptor")
        func write(_ text: String, mode: mode_t = 0o600) throws -> String {
            let path = directory.path(for: "\(Identifier.newUUID()).sr")
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, mode)
            return path
        }
        func json(type: String = "ext", sr: String, path: String) -> String {
            #"{"type":"\#(type)","sr_uuid":"\#(sr)","device_config":{"path":"\#(path)"}}"#
        }
        // Another SR's metadata under a uuid that is not its own.
        let impostor = Identifier.newUUID()
        try FileManager.default.copyItem(atPath: "\(cli.srParent)/\(sr)", toPath: "\(cli.srParent)/\(impostor)")

        let cases: [(String, String)] = [
            (directory.path(for: "missing.sr"), "No such file or directory"),
            (try write(json(sr: sr, path: cli.srParent), mode: 0o644), "mode 644 lets other users at it"),
            (try write("{\"type\": \"ext\""), "not a descriptor"),
            (try write(json(type: "zfs", sr: sr, path: cli.srParent)), "no driver for SR type 'zfs'"),
            (try write(json(sr: "../../etc", path: cli.srParent)), "is not an SR uuid"),
            (try write(json(sr: Identifier.newUUID(), path: cli.srParent)), "The SR is not available"),
            (try write(json(sr: impostor, path: cli.srParent)), "holds SR \(sr), not \(impostor)"),
        ]
        for (descriptor, expected) in cases {
            let log = try await Self.refusal(directory, descriptor: descriptor)
            #expect(log.contains(expected), "\(descriptor): \(log)")
        }
    }
}
