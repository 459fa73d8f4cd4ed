import Foundation
import TestSupport
import Testing

/// Issue 8, finding 2: a huge, sparse `sm-metadata.json` (2 TiB) made every command try to
/// allocate it whole (an abort, or OOM at 12 GB). Record reads are bounded before they
/// allocate: an oversized current generation falls back to the previous one, an oversized
/// intent is reported as damaged, and an SR whose both generations are oversized fails with
/// MetadataError, each at once and in little memory.
@Suite(.enabled(if: CLIHarness.binary != nil, "sm is not built next to the tests"))
struct MetadataBoundTests {
    func sparse(_ path: String, size: UInt64) throws {
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: size)
        try handle.close()
    }

    @Test func aHugeCurrentGenerationFallsBackToThePrevious() async throws {
        let cli = try CLIHarness()
        let sr = try await cli.createSR()
        let vdi = try await cli.ok("vdi-create", "sr-uuid=\(sr)", "virtual-size=8MiB", "name-label=kept")
        // One more save, so the previous generation holds the VDI too.
        try await cli.ok("vdi-create", "sr-uuid=\(sr)", "virtual-size=8MiB", "name-label=second")
        let directory = cli.srParent + "/" + sr
        try sparse(directory + "/sm-metadata.json", size: 2 << 40)
        let started = Date()
        let listing = try await cli.run(["vdi-list", "sr-uuid=\(sr)", "--json"])
        #expect(listing.status == 0, "\(listing)")
        #expect(listing.output.contains(vdi))
        // Reading 2 TiB of holes takes many minutes; one bounded read takes well under a
        // second. The margin is for a CI machine running the whole suite on two cores.
        #expect(Date().timeIntervalSince(started) < 120)
        // The next save writes a good current generation over the huge one.
        try await cli.ok("vdi-create", "sr-uuid=\(sr)", "virtual-size=8MiB", "name-label=third")
        let size = try FileManager.default.attributesOfItem(atPath: directory + "/sm-metadata.json")[.size] as? UInt64
        #expect(try #require(size) < 1 << 20)
        // The detached upkeep loads the SR the same way.
        try sparse(directory + "/sm-metadata.json", size: 2 << 40)
        let upkeep = try await cli.run(["sr-upkeep", "sr=\(sr)", "directory=\(directory)", "size=\(8 << 20)"])
        #expect(upkeep.status == 0, "\(upkeep)")
    }

    @Test func bothGenerationsHugeIsAClearMetadataError() async throws {
        let cli = try CLIHarness()
        let sr = try await cli.createSR()
        let directory = cli.srParent + "/" + sr
        try sparse(directory + "/sm-metadata.json", size: 2 << 40)
        try sparse(directory + "/sm-metadata.json.prev", size: 1 << 40)
        let listing = try await cli.run(["vdi-list", "sr-uuid=\(sr)"])
        #expect(listing.status != 0)
        #expect(listing.errorOutput.contains("more than the"), "\(listing)")
    }

    @Test func aHugeIntentRecordIsDamageNotACrash() async throws {
        let cli = try CLIHarness()
        let sr = try await cli.createSR()
        let vdi = try await cli.ok("vdi-create", "sr-uuid=\(sr)", "virtual-size=8MiB")
        try sparse(cli.srParent + "/" + sr + "/.intent-huge.json", size: 2 << 40)
        let listing = try await cli.run(["vdi-list", "sr-uuid=\(sr)", "--json"])
        #expect(listing.status == 0, "\(listing)")
        #expect(listing.output.contains(vdi))
    }
}
