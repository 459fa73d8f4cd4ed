import Foundation
import TestSupport
import Testing

/// A VDI's physical utilisation follows what its consumer wrote through the datapath: the
/// record is refreshed when the VDI is deactivated and detached, and by `sr-scan`, as the
/// reference's `_db_update` and scan do.
@Suite(
    .serialized,
    .enabled(
        if: CLIHarness.binary != nil && Tool.isAvailable("qemu-io"),
        "needs sm and sm-datapathd built next to the tests, and qemu-io"),
    .timeLimit(.minutes(3)))
struct DatapathSizeRefreshTests {
    @Test func detachAndScanRecordThePhysicalSizeWritesGrew() async throws {
        try await onOwnThread {
            let cli = try CLIHarness()
            let sr = try cli.createSR()
            let vdi = try cli.ok("vdi-create", "sr=\(sr)", "virtual-size=64MiB")
            let file = cli.srParent + "/\(sr)/\(vdi).vhd"
            let created = try Self.physicalUtilisation(cli, sr, vdi)
            #expect(created == (try Self.fileSize(file)))

            // Two 2 MiB blocks through NBD, then a scan while attached.
            let attached = try cli.json(DatapathEndToEndTests.Attached.self, "vdi-attach", "uuid=\(vdi)")
            try Self.write(["write -P 1 0 1M", "write -P 2 8M 64k", "flush"], attached)
            try cli.ok("sr-scan", "uuid=\(sr)")
            let scanned = try Self.physicalUtilisation(cli, sr, vdi)
            #expect(scanned >= created + (4 << 20), "created \(created), scanned \(scanned)")
            #expect(scanned == (try Self.fileSize(file)))

            // A third block, then detach: the record follows without a scan.
            try Self.write(["write -P 3 32M 1M"], attached)
            try cli.ok("vdi-detach", "uuid=\(vdi)")
            let detached = try Self.physicalUtilisation(cli, sr, vdi)
            #expect(detached >= scanned + (2 << 20), "scanned \(scanned), detached \(detached)")
            #expect(detached == (try Self.fileSize(file)))
        }
    }

    static func write(_ commands: [String], _ attached: DatapathEndToEndTests.Attached) throws {
        let vdi = attached.params_nbd.components(separatedBy: "exportname=").last ?? ""
        let arguments =
            ["-f", "raw"] + commands.flatMap { ["-c", $0] } + ["nbd+unix:///\(vdi)?socket=\(attached.socket)"]
        _ = try Tool.require("qemu-io").run(arguments, timeout: 60).requireSuccess()
    }

    static func physicalUtilisation(_ cli: CLIHarness, _ sr: String, _ vdi: String) throws -> UInt64 {
        let listing = try cli.json([VDIListingJSON].self, "vdi-list", "sr=\(sr)", "uuid=\(vdi)")
        return try #require(listing.first?.vdis.first).physicalUtilisation
    }

    static func fileSize(_ path: String) throws -> UInt64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
    }
}
