import Foundation
import TestSupport
import Testing

/// Kills `sm` (SM_FAULT_POINT makes it exit 137 at the named step) in the middle of snapshot,
/// clone, revert and resize; the next command loads the SR, recovers it, and every VDI still
/// exports the data it held.
@Suite(.enabled(if: CLIHarness.binary != nil, "sm is not built next to the tests"))
struct CrashRecoveryTests {
    static let snapshotPoints = ["snapshot:linked", "snapshot:created", "snapshot:renamed", "snapshot:cloned", "snapshot:hidden"]

    /// A directory SR with one 8 MiB VDI holding 0x5a in its first MiB; (cli, sr, vdi, image).
    func populated() throws -> (CLIHarness, String, String, Data) {
        let cli = try CLIHarness()
        let sr = try cli.createSR()
        let raw = try cli.rawFile("in.raw", size: 8 << 20, data: [(0, 0x5a, 1 << 20)])
        let vdi = try cli.ok("vdi-import", "sr-uuid=\(sr)", "filename=\(raw)", "name-label=disk")
        return (cli, sr, vdi, try cli.contents(raw))
    }

    func exported(_ cli: CLIHarness, _ vdi: String) throws -> Data {
        let path = cli.path("out-\(vdi).raw")
        try cli.ok("vdi-export", "uuid=\(vdi)", "filename=\(path)")
        return try cli.contents(path)
    }

    @Test(arguments: snapshotPoints.flatMap { [("vdi-snapshot", $0), ("vdi-clone", $0)] })
    func killedSnapshotOrCloneRecovers(verb: String, point: String) throws {
        let (cli, sr, vdi, image) = try populated()
        let killed = try cli.run([verb, "uuid=\(vdi)"], environment: ["SM_FAULT_POINT": point])
        #expect(killed.status == 137, "\(killed)")
        let listing = try #require(try cli.json([VDIListingJSON].self, "vdi-list", "sr-uuid=\(sr)").first)
        #expect(try exported(cli, vdi) == image)
        for other in listing.vdis where !other.hidden && other.uuid != vdi {
            #expect(try exported(cli, other.uuid) == image, "\(other.uuid) after \(verb) killed at \(point)")
        }
        // The SR works on: a new snapshot succeeds.
        _ = try cli.ok("vdi-snapshot", "uuid=\(vdi)")
    }

    @Test(arguments: ["revert:created", "revert:renamed"])
    func killedRevertRecovers(point: String) throws {
        let (cli, _, vdi, image) = try populated()
        let snapshot = try cli.ok("vdi-snapshot", "uuid=\(vdi)")
        try cli.overwrite(vdi, in: try #require(try cli.json([SREntryJSON].self, "sr-list").first?.uuid), with: 0x11, at: 0, count: 4096)
        let killed = try cli.run(["vdi-revert", "uuid=\(vdi)", "snapshot-uuid=\(snapshot)"], environment: ["SM_FAULT_POINT": point])
        #expect(killed.status == 137, "\(killed)")
        let after = try exported(cli, vdi)
        var changed = image
        changed.replaceSubrange(0..<4096, with: Data(repeating: 0x11, count: 4096))
        #expect(after == (point == "revert:created" ? changed : image))
        #expect(try exported(cli, snapshot) == image)
    }

    @Test(arguments: ["RESIZE_BEGIN", "RESIZE_DATA_MOVED", "RESIZE_METADATA_MOVED", "RESIZE_END"])
    func killedOfflineResizeRecovers(step: String) throws {
        let (cli, sr, vdi, image) = try populated()
        let killed = try cli.run(["vdi-resize", "uuid=\(vdi)", "disk-size=1000GiB"], environment: ["SM_FAULT_POINT": "resize:" + step])
        #expect(killed.status == 137, "\(killed)")
        let listing = try #require(try cli.json([VDIListingJSON].self, "vdi-list", "sr-uuid=\(sr)").first)
        #expect(listing.vdis.first { $0.uuid == vdi }?.virtualSize == 8 << 20)
        #expect(try exported(cli, vdi) == image)
        try cli.ok("vdi-resize", "uuid=\(vdi)", "disk-size=1000GiB")
        #expect(try #require(try cli.json([VDIListingJSON].self, "vdi-list", "sr-uuid=\(sr)").first).vdis.first { $0.uuid == vdi }?.virtualSize == 1000 << 30)
    }
}
