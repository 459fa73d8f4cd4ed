import Foundation
import TestSupport
import Testing

/// Whoever can connect to a VDI's NBD socket reads and writes the disk, and whoever can
/// connect to its control socket can serve any file: both are the owner's alone (0600, in a
/// 0700 directory), and so are the daemon's pid and bookkeeping files, whatever umask the
/// caller of `sm` had.
@Suite(
    .serialized, .enabled(if: CLIHarness.binary != nil, "needs sm and sm-datapathd built next to the tests"),
    .timeLimit(.minutes(3)))
struct DatapathPermissionTests {
    @Test func underUmask000TheDaemonsSocketsAndFilesAreTheOwnersAlone() async throws {
        try await onOwnThread {
            let cli = try CLIHarness()
            let sr = try cli.createSR()
            let vdi = try cli.ok("vdi-create", "sr=\(sr)", "virtual-size=64MiB")
            try cli.run(umask: "000", ["vdi-attach", "uuid=\(vdi)"]).requireSuccess()
            defer { _ = try? cli.run("vdi-detach", "uuid=\(vdi)") }
            try Self.expectPrivate(cli, vdi)

            // A directory left 0755 by an earlier version is tightened on the next attach.
            try cli.ok("vdi-detach", "uuid=\(vdi)")
            #expect(chmod(cli.path("nbd"), 0o755) == 0)
            try cli.run(umask: "000", ["vdi-attach", "uuid=\(vdi)"]).requireSuccess()
            try Self.expectPrivate(cli, vdi)
        }
    }

    @Test(.enabled(if: geteuid() == 0 && Tool.isAvailable("setpriv") && Tool.isAvailable("nbdinfo")))
    func anotherUserCannotConnectToTheNBDSocket() async throws {
        try await onOwnThread {
            // The daemon's directory under /tmp, which everyone can traverse (the test's own
            // temporary directory may sit inside one that only root can), made traversable
            // for `nobody`, so only the socket's own mode stands in the way.
            var template = Array("/tmp/sm-permissions.XXXXXX".utf8CString)
            let parent = try #require(
                template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
            defer { try? FileManager.default.removeItem(atPath: parent) }
            let cli = try CLIHarness(environment: ["SM_DATAPATH_DIR": parent + "/nbd"])
            let sr = try cli.createSR()
            let vdi = try cli.ok("vdi-create", "sr=\(sr)", "virtual-size=64MiB")
            try cli.run(umask: "000", ["vdi-attach", "uuid=\(vdi)"]).requireSuccess()
            defer { _ = try? cli.run("vdi-detach", "uuid=\(vdi)") }
            for directory in [parent, parent + "/nbd"] { #expect(chmod(directory, 0o711) == 0) }
            let socket = parent + "/nbd/\(vdi).sock"
            let asNobody = try Tool.require("setpriv")
            let arguments = [
                "--reuid=65534", "--regid=65534", "--clear-groups", try Tool.require("nbdinfo").path, "--size",
                "nbd+unix:///\(vdi)?socket=\(socket)",
            ]
            let refused = try asNobody.run(arguments, timeout: 30)
            #expect(refused.status != 0 && refused.errorOutput.contains("Permission denied"), "\(refused)")
            // The same client gets in once the mode allows it: what refused it was the mode.
            #expect(chmod(socket, 0o666) == 0)
            let admitted = try asNobody.run(arguments, timeout: 30)
            #expect(admitted.output.trimmingCharacters(in: .whitespacesAndNewlines) == String(64 << 20), "\(admitted)")
        }
    }

    static func expectPrivate(_ cli: CLIHarness, _ vdi: String, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        #expect(try mode(cli.path("nbd")) == S_IFDIR | 0o700, sourceLocation: sourceLocation)
        for suffix in ["sock", "control"] {
            #expect(
                try mode(cli.path("nbd/\(vdi).\(suffix)")) == S_IFSOCK | 0o600, "\(suffix)",
                sourceLocation: sourceLocation)
        }
        for suffix in ["pid", "log", "sr"] {
            #expect(
                try mode(cli.path("nbd/\(vdi).\(suffix)")) == S_IFREG | 0o600, "\(suffix)",
                sourceLocation: sourceLocation)
        }
    }

    /// `st_mode` of `path` (type and permission bits).
    static func mode(_ path: String) throws -> mode_t {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return info.st_mode & (S_IFMT | 0o7777)
    }
}
