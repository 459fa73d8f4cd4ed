import Foundation
import TestSupport
import Testing

/// An SR whose file system fills up under a guest's writes: the NBD client is told `ENOSPC`
/// (a full disk, which a guest file system handles), not `EIO` (a broken one), and the VDI
/// can still be detached.
@Suite(
    .serialized,
    .enabled(
        if: geteuid() == 0 && CLIHarness.binary != nil && ["mount", "umount", "qemu-io"].allSatisfy(Tool.isAvailable),
        "needs root (to mount a tmpfs), sm and sm-datapathd built next to the tests, and qemu-io"),
    .timeLimit(.minutes(3)))
struct DatapathFullSRTests {
    @Test func aWriteToAFullSRFailsWithENOSPC() async throws {
        try await onOwnThread {
            let cli = try CLIHarness()
            let mountPoint = cli.path("small")
            try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
            _ = try Tool.require("mount").run(["-t", "tmpfs", "-o", "size=6m", "tmpfs", mountPoint], timeout: 30)
                .requireSuccess()
            defer { _ = try? Tool.require("umount").run(["-l", mountPoint], timeout: 30) }
            let sr = try cli.ok("sr-create", "device-config:path=\(mountPoint)", "name-label=small")
            let vdi = try cli.ok("vdi-create", "sr=\(sr)", "virtual-size=64MiB")
            let attached = try cli.json(DatapathEndToEndTests.Attached.self, "vdi-attach", "uuid=\(vdi)")
            defer { _ = try? cli.run("vdi-detach", "uuid=\(vdi)") }
            let uri = "nbd+unix:///\(vdi)?socket=\(attached.socket)"

            // 16 MiB cannot fit in 6 MiB; every write that needs a new block past the end fails.
            let write = try Tool.require("qemu-io").run(["-f", "raw", "-c", "write -P 7 0 16M", uri], timeout: 60)
            #expect(write.output.contains("No space left on device"), "\(write)")
            #expect(!write.output.contains("Input/output error"), "\(write)")
            struct Statistics: Decodable { var errors: Int }
            #expect(try cli.json(Statistics.self, "vdi-stats", "uuid=\(vdi)").errors >= 1)
            // The export still serves.
            let read = try Tool.require("qemu-io").run(["-f", "raw", "-r", "-c", "read 0 1M", uri], timeout: 60)
            #expect(read.status == 0 && !read.output.contains("failed"), "\(read)")
            try cli.ok("vdi-detach", "uuid=\(vdi)")
        }
    }
}
