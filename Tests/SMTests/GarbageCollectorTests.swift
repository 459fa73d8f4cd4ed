import BlockIO
import Foundation
import TestSupport
import Testing
import VHD

@testable import SM

/// The collector over every kind of container: garbage goes, chains shrink to what live
/// ancestors need, every VDI reads what it did, and trees it must not touch are skipped.
@Suite struct GarbageCollectorTests {
    static let size: UInt64 = 8 << 20

    /// Runs the collector to its end on `sr`.
    @discardableResult
    static func collect(_ sr: TestSR, engine: SREngine? = nil, directLeafLimit: UInt64 = 64 << 20) throws -> CollectorSummary {
        var collector = GarbageCollector(engine: engine ?? sr.engine, environment: StandaloneCollectorEnvironment())
        collector.directLeafLimit = directLeafLimit
        return try collector.run()
    }

    /// A VDI written, snapshotted twice with writes between, its snapshots deleted: a chain of
    /// three with two hidden base copies and nothing else reading them. Returns the VDI and the
    /// bytes it reads over its first `size`.
    static func chainOfDeletedSnapshots(_ sr: TestSR) throws -> (uuid: String, model: [UInt8]) {
        let vdi = try sr.engine.createVDI(.init(size: size))
        var model = [UInt8](repeating: 0, count: Int(size))
        for (round, offset) in [(1, 0), (2, 3 << 20), (3, 4096)].map({ ($0.0, UInt64($0.1)) }) {
            let bytes = [UInt8](repeating: UInt8(round), count: 2 << 20)
            try sr.write(vdi.uuid, bytes, at: offset)
            model.replaceSubrange(Int(offset)..<Int(offset) + bytes.count, with: bytes)
            if round < 3 {
                let snapshot = try #require(try sr.engine.snapshot(vdi.uuid, now: now).newVDI)
                try sr.engine.deleteVDI(snapshot.uuid)
            }
        }
        return (vdi.uuid, model)
    }

    /// Every VHD opens with every structure checked, and no garbage or leftover is left.
    static func expectClean(_ sr: TestSR, _ engine: SREngine, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try SREngineCrashTests.expectSettled(sr, engine, sourceLocation: sourceLocation)
        for record in engine.vdis where record.volumeType == .vhd {
            _ = try Image.open(store: sr.container.open(sr.volume(record.uuid), writable: false), name: record.uuid)
        }
        let plan = CollectorPlan(tree: VHDTree(engine: engine), engine: engine, settings: .init())
        #expect(plan.garbage.isEmpty, "garbage left: \(plan.garbage)", sourceLocation: sourceLocation)
    }

    @Test(arguments: ContainerKind.allCases)
    func deletedSnapshotsGiveTheirSpaceBackAndTheChainShrinks(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let (uuid, model) = try Self.chainOfDeletedSnapshots(sr)
        #expect(sr.engine.chainDepth(uuid) == 3)
        let summary = try Self.collect(sr)
        #expect(summary.nodesCoalesced + summary.garbageDeleted >= 1, "\(summary)")
        #expect(summary.leavesCoalesced == 1, "\(summary)")
        #expect(summary.failures.isEmpty, "\(summary.failures)")
        let engine = try sr.reload()
        #expect(engine.vdis.map(\.uuid) == [uuid])
        #expect(engine.chainDepth(uuid) == 1)
        #expect(try sr.read(uuid, 0..<Self.size, engine: engine) == model)
        try Self.expectClean(sr, engine)
        // The VDI works on: written and snapshotted again.
        try sr.write(uuid, [9], at: 0, engine: engine)
        _ = try engine.snapshot(uuid, now: now)
    }

    @Test(arguments: ContainerKind.allCases)
    func largeLeavesShrinkBySnapshotCoalesceRounds(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let (uuid, model) = try Self.chainOfDeletedSnapshots(sr)
        let summary = try Self.collect(sr, directLeafLimit: 0)
        #expect(summary.leavesCoalesced == 1 && summary.failures.isEmpty, "\(summary)")
        let engine = try sr.reload()
        #expect(engine.chainDepth(uuid) == 1)
        #expect(try sr.read(uuid, 0..<Self.size, engine: engine) == model)
        try Self.expectClean(sr, engine)
    }

    @Test(arguments: ContainerKind.allCases)
    func aParentSmallerThanItsChildGrowsFirst(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let vdi = try sr.engine.createVDI(.init(size: Self.size))
        try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 4096), at: 0)
        let first = try #require(try sr.engine.snapshot(vdi.uuid, now: now).newVDI)
        _ = try sr.engine.resize(vdi.uuid, to: 2 * Self.size, online: false)
        try sr.write(vdi.uuid, [UInt8](repeating: 2, count: 4096), at: Self.size + 4096)
        let second = try #require(try sr.engine.snapshot(vdi.uuid, now: now).newVDI)
        try sr.write(vdi.uuid, [UInt8](repeating: 3, count: 4096), at: 8192)
        try sr.engine.deleteVDI(first.uuid)
        try sr.engine.deleteVDI(second.uuid)
        let summary = try Self.collect(sr)
        #expect(summary.failures.isEmpty, "\(summary.failures)")
        let engine = try sr.reload()
        #expect(engine.chainDepth(vdi.uuid) == 1)
        #expect(try engine.vdi(vdi.uuid).virtualSize == 2 * Self.size)
        #expect(try sr.read(vdi.uuid, 0..<4096, engine: engine) == [UInt8](repeating: 1, count: 4096))
        #expect(try sr.read(vdi.uuid, 8192..<12288, engine: engine) == [UInt8](repeating: 3, count: 4096))
        #expect(try sr.read(vdi.uuid, Self.size + 4096..<Self.size + 8192, engine: engine) == [UInt8](repeating: 2, count: 4096))
        try Self.expectClean(sr, engine)
    }

    @Test(arguments: ContainerKind.allCases)
    func aBaseCopyTwoVDIsReadIsKept(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let vdi = try sr.engine.createVDI(.init(size: Self.size))
        try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 4096), at: 0)
        let snapshot = try #require(try sr.engine.snapshot(vdi.uuid, now: now).newVDI)
        let before = Set(sr.engine.vdis.map(\.uuid))
        let summary = try Self.collect(sr)
        #expect(summary.garbageDeleted == 0 && summary.nodesCoalesced == 0 && summary.leavesCoalesced == 0, "\(summary)")
        let engine = try sr.reload()
        #expect(Set(engine.vdis.map(\.uuid)) == before)
        #expect(try sr.read(snapshot.uuid, 0..<4096, engine: engine) == [UInt8](repeating: 1, count: 4096))
        // Once the VDI goes, its snapshot is the base's only child and takes the base's place.
        try engine.deleteVDI(vdi.uuid)
        try Self.collect(sr, engine: engine)
        let after = try sr.reload()
        #expect(after.vdis.map(\.uuid) == [snapshot.uuid])
        #expect(try after.vdi(snapshot.uuid).isASnapshot)
        #expect(try sr.read(snapshot.uuid, 0..<4096, engine: after) == [UInt8](repeating: 1, count: 4096))
    }

    @Test(arguments: ContainerKind.allCases)
    func settingsStopTheCollectorOrItsCoalesces(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let (uuid, _) = try Self.chainOfDeletedSnapshots(sr)
        try sr.engine.updateSR { $0.otherConfig["gc"] = "false" }
        #expect(try Self.collect(sr).disabled)
        #expect(sr.engine.chainDepth(uuid) == 3)
        try sr.engine.updateSR { $0.otherConfig = ["leaf-coalesce": "false"] }
        let summary = try Self.collect(sr)
        #expect(summary.leavesCoalesced == 0 && summary.nodesCoalesced == 1, "\(summary)")
        #expect(try sr.reload().chainDepth(uuid) == 2)
        try sr.engine.updateSR { $0.otherConfig = [:] }
        try sr.engine.updateVDI(uuid) { $0.otherConfig["leaf-coalesce"] = "false" }
        #expect(try Self.collect(sr).leavesCoalesced == 0)
    }

    @Test(arguments: ContainerKind.allCases)
    func aBaseCopyMadeVisibleKeepsItsTreeUntouched(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let (uuid, model) = try Self.chainOfDeletedSnapshots(sr)
        let base = try #require(sr.engine.vdi(uuid).parent)
        try HiddenFlag.set(false, store: sr.container.open(sr.volume(base), writable: true), name: base)
        let before = Set(try sr.container.list().map(\.name))
        let summary = try Self.collect(sr)
        #expect(summary.skipped.count == 1 && summary.skipped[0].contains(base), "\(summary.skipped)")
        #expect(summary.garbageDeleted == 0 && summary.nodesCoalesced == 0 && summary.leavesCoalesced == 0)
        #expect(Set(try sr.container.list().map(\.name)) == before)
        #expect(try sr.read(uuid, 0..<Self.size) == model)
    }

    @Test(arguments: ContainerKind.allCases)
    func aTreeWithAMissingOrDamagedVHDIsSkippedAndTheRestCollected(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let (broken, _) = try Self.chainOfDeletedSnapshots(sr)
        let (healthy, model) = try Self.chainOfDeletedSnapshots(sr)
        // The broken tree's root loses its footer and its header: nothing can read it.
        var root = broken
        while let parent = try? sr.engine.vdi(root).parent, !parent.isEmpty { root = parent }
        let store = try sr.container.open(sr.volume(root), writable: true)
        try store.write([UInt8](repeating: 0, count: 2048), at: 0)
        try store.write([UInt8](repeating: 0, count: 512), at: store.size - 512)
        let summary = try Self.collect(sr)
        #expect(summary.skipped.contains { $0.contains(root) }, "\(summary.skipped)")
        let engine = try sr.reload()
        #expect(engine.chainDepth(healthy) == 1)
        #expect(try sr.read(healthy, 0..<Self.size, engine: engine) == model)
        #expect(engine.chainDepth(broken) == 3)
        #expect(sr.container.exists(sr.volume(root)))
    }

    @Test(arguments: [ContainerKind.memoryFiles, .memoryLVs])
    func aCoalesceTheSRHasNoRoomForIsRefusedBeforeAnyWrite(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let (uuid, model) = try Self.chainOfDeletedSnapshots(sr)
        let memory = try #require(sr.container as? MemoryVolumeContainer)
        let free = try memory.space().free
        let filler = try memory.create("filler", size: free - 4096)
        try filler.write([1], at: free - 4097)
        let summary = try Self.collect(sr)
        // The inner coalesce has no room; on LVs the leaf's coalesce may still fit, as deflating
        // the leaf first frees what it does not use.
        let refusal = try #require(summary.failures.first, "\(summary)")
        #expect(refusal.contains("needs") && refusal.contains("bytes") && refusal.contains("free"), "\(refusal)")
        let engine = try sr.reload()
        try SREngineCrashTests.expectSettled(sr, engine)
        #expect(try sr.read(uuid, 0..<Self.size, engine: engine) == model)
        try memory.remove("filler")
        try Self.collect(sr)
        #expect(try sr.reload().chainDepth(uuid) == 1)
    }

    @Test(arguments: ContainerKind.allCases)
    func anAbortStopsTheCopyAndLeavesNothingHalfDone(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let (uuid, model) = try Self.chainOfDeletedSnapshots(sr)
        let environment = StandaloneCollectorEnvironment()
        var collector = GarbageCollector(engine: sr.engine, environment: environment)
        collector.progress = { progress in
            if progress.step == .coalescing, (progress.fraction ?? 0) > 0 { environment.abort() }
        }
        let summary = try collector.run()
        #expect(summary.aborted && summary.failures.isEmpty, "\(summary)")
        let engine = try sr.reload()
        try SREngineCrashTests.expectSettled(sr, engine)
        #expect(try sr.read(uuid, 0..<Self.size, engine: engine) == model)
        try Self.collect(sr, engine: engine)
        #expect(try sr.reload().chainDepth(uuid) == 1)
    }
}
