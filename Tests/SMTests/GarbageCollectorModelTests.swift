import BlockIO
import Foundation
import TestSupport
import Testing
import VHD

@testable import SM

/// Random sequences of write, snapshot, clone, revert, delete and collect against a model of
/// every visible VDI's bytes: after each collection every VDI reads its model, no garbage is
/// left, and no chain is longer than its live ancestors need (nothing is left to coalesce).
@Suite struct GarbageCollectorModelTests {
    static let size = 6 << 20

    @Test(arguments: ContainerKind.allCases)
    func randomSequencesKeepEveryVDIsBytes(kind: ContainerKind) throws {
        let seed = UInt64(0x5EED_6C00) &+ UInt64(kind.rawValue.utf8.count)
        var random = SplitMix64(seed: seed)
        let sr = try TestSR(kind)
        var model: [String: [UInt8]] = [:]
        let first = try sr.engine.createVDI(.init(size: UInt64(Self.size)))
        model[first.uuid] = [UInt8](repeating: 0, count: Self.size)
        var collections = 0
        for step in 0..<70 {
            let visible = model.keys.sorted()
            let target = visible[Int(random.next(below: UInt64(visible.count)))]
            let context = "seed \(seed) step \(step)"
            switch random.next(below: 10) {
            case 0...3:
                let offset = Int(random.next(below: UInt64(Self.size / 4096))) * 4096
                let count = min(Self.size - offset, Int(random.next(below: 160) + 1) * 4096)
                let bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: step + 1), count: count)
                try sr.write(target, bytes, at: UInt64(offset))
                model[target]?.replaceSubrange(offset..<offset + count, with: bytes)
            case 4, 5:
                let isClone = random.next(below: 2) == 0
                let copy: VDIRecord?
                do throws(SRError) {
                    copy = try sr.engine.snapshot(target, isClone: isClone, now: now).newVDI
                } catch {
                    #expect(error.code == .snapshotChainTooLong, "\(context): \(error)")
                    continue
                }
                if let copy { model[copy.uuid] = model[target] }
            case 6:
                let snapshots = sr.engine.vdis.filter { $0.snapshotOf == target && model[$0.uuid] != nil }
                guard let snapshot = snapshots.first else { continue }
                try sr.engine.revert(target, to: snapshot.uuid, now: now)
                model[target] = model[snapshot.uuid]
            case 7, 8:
                guard visible.count > 1 else { continue }
                try sr.engine.deleteVDI(target)
                model[target] = nil
            default:
                collections += 1
                let summary = try GarbageCollectorTests.collect(sr, directLeafLimit: random.next(below: 2) == 0 ? 0 : 64 << 20)
                #expect(summary.failures.isEmpty, "\(context): \(summary.failures)")
                let engine = try sr.reload()
                let plan = CollectorPlan(tree: VHDTree(engine: engine), engine: engine, settings: .init())
                #expect(plan.garbage.isEmpty && plan.coalescable.isEmpty && plan.leafCoalescable.isEmpty, "\(context)")
                #expect(Set(engine.vdis.filter { !$0.hidden }.map(\.uuid)) == Set(model.keys), "\(context)")
                for (uuid, bytes) in model {
                    #expect(try sr.read(uuid, 0..<UInt64(Self.size), engine: engine) == bytes, "\(context): VDI \(uuid)")
                }
                try GarbageCollectorTests.expectClean(sr, engine)
                sr.engine = engine
            }
        }
        #expect(collections > 3)
    }
}
