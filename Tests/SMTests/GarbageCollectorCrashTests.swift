import BlockIO
import Foundation
import TestSupport
import Testing
import VHD

@testable import SM

/// Stops or kills the collector at every named step of every action it takes, then loads the
/// SR as the next command would: every VDI reads what it did, nothing is left half-done, and
/// the next run finishes the job.
@Suite struct GarbageCollectorCrashTests {
    static let innerPoints = ["coalesce:begun", "coalesce:copied", "relink:begun", "relink:child", "relink:committed", "relink:removed"]
    static let leafPoints = ["leaf:begun", "leaf:prepared", "leaf:copied", "leaf:unhidden", "leaf:renamed", "leaf:committed", "leaf:removed"]

    static func points(for kind: ContainerKind) -> [String] {
        innerPoints + leafPoints + (kind == .memoryLVs ? ["inflate:grown"] : [])
    }

    @Test(arguments: ContainerKind.allCases, SREngineCrashTests.Interruption.allCases)
    func collectorInterruptedAnywhereRecovers(kind: ContainerKind, by interruption: SREngineCrashTests.Interruption) throws {
        for point in Self.points(for: kind) {
            let sr = try TestSR(kind)
            let (uuid, model) = try GarbageCollectorTests.chainOfDeletedSnapshots(sr)
            let (after, recovered) = try SREngineCrashTests.interrupt(sr, at: point, by: interruption) {
                try GarbageCollectorTests.collect(sr)
            }
            try SREngineCrashTests.expectSettled(after, recovered)
            #expect(try after.read(uuid, 0..<GarbageCollectorTests.size, engine: recovered) == model, "\(point)")
            #expect(try recovered.vdi(uuid).nameLabel == sr.engine.vdis.first { $0.uuid == uuid }?.nameLabel, "\(point)")
            let summary = try GarbageCollectorTests.collect(after, engine: recovered)
            #expect(summary.failures.isEmpty, "\(point): \(summary.failures)")
            let final = try after.reload()
            #expect(final.vdis.map(\.uuid) == [uuid], "\(point)")
            #expect(final.chainDepth(uuid) == 1, "\(point)")
            #expect(try after.read(uuid, 0..<GarbageCollectorTests.size, engine: final) == model, "\(point)")
            try GarbageCollectorTests.expectClean(after, final)
        }
    }

    /// A collector that is running owns its intents: another process loading the SR meanwhile
    /// leaves them alone, and the collector finishes them.
    @Test(arguments: ContainerKind.allCases)
    func aLiveCollectorsIntentIsLeftToIt(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let (uuid, model) = try GarbageCollectorTests.chainOfDeletedSnapshots(sr)
        let tree = VHDTree(engine: sr.engine)
        let plan = CollectorPlan(tree: tree, engine: sr.engine, settings: .init())
        let job = try #require(plan.coalescable.first)
        let begun = try sr.engine.beginCoalesce(child: job.child, parent: job.parent)
        _ = try sr.engine.copyCoalesce(begun)
        let storage = SRStorage(container: sr.container)
        let other = try SREngine.load(
            srUUID: sr.engine.srUUID, container: sr.container, metadataStore: storage.metadataStore,
            journal: storage.journal, recovering: false)
        other.collectorIsLive = { true }
        try other.reload()
        #expect(try other.journal.pending().intents.map(\.id) == [begun.intent.id])
        try sr.engine.reload()
        try sr.engine.relinkCoalesced(begun)
        let final = try sr.reload()
        #expect(try sr.read(uuid, 0..<GarbageCollectorTests.size, engine: final) == model)
        #expect(final.vdis.count == 2)
        try SREngineCrashTests.expectSettled(sr, final)
    }
}
