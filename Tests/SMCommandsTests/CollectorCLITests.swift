import Foundation
import TestSupport
import Testing

/// `sm sr-gc` and the collector every delete, scan and snapshot kicks: deleted snapshots give
/// their space back on their own, the VDI keeps its content and identity, and the status and
/// summary read as documented.
@Suite struct CollectorCLITests {
    let sm: CLIHarness

    init() throws { sm = try CLIHarness() }

    struct StatusJSON: Decodable {
        struct Debt: Decodable {
            var garbageBytes: UInt64
            var garbageVDIs: Int
            var coalescableNodes: Int
            var deepestChain: Int
        }

        var sr: String
        var running: Bool
        var debt: Debt
    }

    struct ReportJSON: Decodable {
        struct Summary: Decodable {
            var garbageDeleted: Int
            var nodesCoalesced: Int
            var leavesCoalesced: Int
            var failures: [String]
        }

        var ran: Bool
        var summary: Summary?
    }

    /// Waits (suspended, never blocking a thread) until the SR owes its collector nothing.
    func settled(_ sr: String) async throws -> StatusJSON {
        var status = try await sm.json(StatusJSON.self, "sr-gc", "uuid=\(sr)", "--status")
        for _ in 0..<300 where status.running || status.debt.coalescableNodes > 0 || status.debt.garbageVDIs > 0 {
            try await Task.sleep(for: .milliseconds(100))
            status = try await sm.json(StatusJSON.self, "sr-gc", "uuid=\(sr)", "--status")
        }
        return status
    }

    @Test func deletedSnapshotsAreCollectedAfterTheReplyAndTheChainShrinks() async throws {
        let sr = try await sm.createSR()
        let original = try sm.rawFile("disk.raw", size: 16 << 20, data: [(0, 0x5A, 3 << 20), (9 << 20, 0xC3, 1 << 20)])
        let disk = try await sm.ok("vdi-import", "filename=\(original)")
        let first = try await sm.ok("vdi-snapshot", "uuid=\(disk)")
        try sm.overwrite(disk, in: sr, with: 0x11, at: 4 << 20, count: 4096)
        let second = try await sm.ok("vdi-snapshot", "uuid=\(disk)")
        try sm.overwrite(disk, in: sr, with: 0x22, at: 8192, count: 4096)
        try await sm.ok("vdi-destroy", "uuid=\(first)")
        try await sm.ok("vdi-destroy", "uuid=\(second)")
        let status = try await settled(sr)
        #expect(!status.running && status.debt.garbageVDIs == 0 && status.debt.coalescableNodes == 0, "\(status)")
        #expect(status.debt.deepestChain == 1)
        let vdis = try await sm.json([VDIListingJSON].self, "vdi-list").first?.vdis ?? []
        #expect(vdis.map(\.uuid) == [disk])
        let exported = sm.path("exported.raw")
        try await sm.ok("vdi-export", "uuid=\(disk)", "filename=\(exported)", "format=raw")
        var expected = try sm.contents(original)
        expected.replaceSubrange((4 << 20)..<(4 << 20) + 4096, with: Data(repeating: 0x11, count: 4096))
        expected.replaceSubrange(8192..<8192 + 4096, with: Data(repeating: 0x22, count: 4096))
        #expect(try sm.contents(exported) == expected)
        let files = try FileManager.default.contentsOfDirectory(atPath: sm.srParent + "/" + sr).filter { $0.hasSuffix(".vhd") }
        #expect(files == ["\(disk).vhd"])
        // A foreground run now has nothing left to do, and says so.
        let report = try await sm.json(ReportJSON.self, "sr-gc", "uuid=\(sr)")
        let summary = try #require(report.summary, "\(report)")
        #expect(report.ran && summary.garbageDeleted == 0 && summary.nodesCoalesced == 0 && summary.failures.isEmpty)
        let text = try await sm.ok("sr-gc", "uuid=\(sr)")
        #expect(text.contains("garbage deleted: 0") && text.contains("bytes reclaimed:") && text.contains("seconds:"))
        let abort = try await sm.ok("sr-gc", "uuid=\(sr)", "--abort")
        #expect(abort.contains("no collector runs"))
        let list = try await sm.ok("sr-list")
        #expect(list.contains("reclaimable"))
    }
}
