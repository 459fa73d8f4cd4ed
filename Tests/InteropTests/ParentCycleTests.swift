import BlockIO
import Foundation
import TestSupport
import Testing
import VHD
import VHDFormat

/// Parent cycles reached through our own tools. `modify -p` used to accept a new parent whose
/// chain runs back through the child, and `check -p` and `snapshot` then walked such a loop
/// forever (fixed in 250552a). A hostile image can still carry a loop, so the walks are tested
/// on one made by hand, out of process: an in-process hang would stop the whole test run.
@Suite(.timeLimit(.minutes(2)))
struct ParentCycleTests {
    /// base ← a ← b, all empty, linked as given (`linkEmptyParent`, blktap's `-e`; otherwise
    /// b would skip the empty a and link to base).
    static func chain(in directory: String) throws -> (a: String, b: String) {
        let base = directory + "/base.vhd"
        let a = directory + "/a.vhd"
        let b = directory + "/b.vhd"
        _ = try Disks.create(base, size: 8 << 20)
        var options = Snapshot.Options()
        options.linkEmptyParent = true
        _ = try Snapshot.file(at: a, parent: base, options: options)
        _ = try Snapshot.file(at: b, parent: a, options: options)
        return (a, b)
    }

    /// The same chain with a pointed back at b, UUID included, so that nothing but a walk
    /// that remembers where it has been can tell it from a real chain.
    static func cycle(in directory: String) throws -> (a: String, b: String) {
        let (a, b) = try chain(in: directory)
        let bUUID = try Disks.open(b).uuid
        try Hostile.setLocators(a, to: "./b.vhd")
        try Hostile.editHeader(a) { $0.parentUUID = bUUID }
        return (a, b)
    }

    @Test func reparentingOntoADescendantIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "cycle-modify")
        let (a, b) = try Self.chain(in: directory.path)
        let before = try Hostile.snapshot(directory.path)
        let error = #expect(throws: VHDError.self) { try Modify.setParent(path: a, newParent: b) }
        guard case .parentCycle = error else {
            Issue.record("expected .parentCycle, got \(String(describing: error))")
            return
        }
        #expect(try Hostile.snapshot(directory.path) == before, "a refused re-parent changed a file")
    }

    /// `vhd-util check -p` must end on a loop, with ELOOP as `query -d` reports it.
    @Test(.enabled(if: Tools.vhdUtil != nil, "vhd-util is not built next to the tests"))
    func checkWithParentsEndsOnACycle() async throws {
        let directory = try TemporaryDirectory(prefix: "cycle-check")
        let (_, b) = try Self.cycle(in: directory.path)
        let vhdUtil = try #require(Tools.vhdUtil)
        let result = try await vhdUtil.run(["check", "-n", b, "-p"], timeout: 30)
        #expect(result.status == 40, "\(result)")
    }

    /// Snapshotting an empty differencing disk walks down through empty parents to the first
    /// one with data (blktap's rule); in a loop of empty disks that walk must stop, and create
    /// nothing.
    @Test(.enabled(if: Tools.vhdUtil != nil, "vhd-util is not built next to the tests"))
    func snapshotOfAnEmptyDiskInACycleEnds() async throws {
        let directory = try TemporaryDirectory(prefix: "cycle-snapshot")
        let (_, b) = try Self.cycle(in: directory.path)
        let vhdUtil = try #require(Tools.vhdUtil)
        let child = directory.path(for: "c.vhd")
        let result = try await vhdUtil.run(["snapshot", "-n", child, "-p", b], timeout: 30)
        #expect(!result.succeeded, "\(result)")
        #expect(!FileManager.default.fileExists(atPath: child))
    }
}
