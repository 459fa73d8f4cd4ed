import BlockIO
import Foundation
import TestSupport
import Testing
import VHD

@testable import SM

/// Stops each multi-step operation at every named point, as a crash there would, then loads
/// the SR again: recovery must leave every VDI readable with its data, and no stray volumes.
@Suite struct SREngineCrashTests {
    static let snapshotPoints = ["snapshot:linked", "snapshot:created", "snapshot:renamed", "snapshot:committed", "snapshot:hidden"]

    /// How an operation is interrupted: stopped by an error (the inline undo runs), or killed
    /// (the next load finds the SR as it was at that instant and recovers it).
    enum Interruption: String, CaseIterable, Sendable { case stopped, killed }

    /// Runs `operation` on `sr` interrupted at `point` and returns the SR the next load sees.
    static func interrupt(
        _ sr: TestSR, at point: String, by interruption: Interruption, _ operation: () throws -> Void
    ) throws -> (sr: TestSR, engine: SREngine) {
        let image = try TestSR.CrashImage()
        sr.engine.faultPoint = interruption == .stopped ? .stop(at: point) : sr.crash(at: point, into: image)
        _ = try? operation()
        sr.engine.faultPoint = .none
        if interruption == .stopped { return (sr, try sr.reload()) }
        #expect(image.taken, "the operation never reached \(point)")
        let recovered = try sr.recovered(from: image)
        return (recovered, recovered.engine)
    }

    /// Nothing an interrupted operation leaves survives recovery, and every VDI volume is a record's.
    static func expectSettled(_ sr: TestSR, _ engine: SREngine, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try engine.journal.pending().intents.isEmpty, sourceLocation: sourceLocation)
        let volumes = try sr.container.list().map(\.name)
        #expect(!volumes.contains(where: VolumeNaming.isLeftover), "\(volumes)", sourceLocation: sourceLocation)
        #expect(!volumes.contains { VolumeNaming.volume(ofDestroying: $0) != nil }, "\(volumes)", sourceLocation: sourceLocation)
        let recorded = Set(engine.vdis.map { sr.container.naming.volume(for: $0.uuid, type: $0.volumeType) })
        let vdiVolumes = Set(volumes.filter { sr.container.naming.vdi(of: $0) != nil })
        #expect(vdiVolumes == recorded, "\(vdiVolumes) vs \(recorded)", sourceLocation: sourceLocation)
    }

    @Test(arguments: ContainerKind.allCases, Interruption.allCases)
    func snapshotInterruptedAnywhereRecovers(kind: ContainerKind, by interruption: Interruption) throws {
        for point in Self.snapshotPoints {
            let sr = try TestSR(kind)
            let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
            let data = [UInt8](repeating: 0x42, count: 8192)
            try sr.write(vdi.uuid, data, at: 4096)
            let (after, recovered) = try Self.interrupt(sr, at: point, by: interruption) {
                _ = try sr.engine.snapshot(vdi.uuid, now: now)
            }
            try Self.expectSettled(after, recovered)
            #expect(try after.read(vdi.uuid, 4096..<12288, engine: recovered) == data, "\(point)")
            // The metadata save is the commit point: a snapshot stopped before it never appears.
            let committed = point == "snapshot:committed" || point == "snapshot:hidden"
            #expect(recovered.vdis.contains { $0.isASnapshot && $0.snapshotOf == vdi.uuid } == committed, "\(point)")
            #expect(recovered.vdis.count == (committed ? 3 : 1), "\(point): \(recovered.vdis)")
            // The SR still works: writes to the VDI never reach the snapshot.
            try after.write(vdi.uuid, [UInt8](repeating: 1, count: 512), at: 4096, engine: recovered)
            if let snapshot = recovered.vdis.first(where: { $0.isASnapshot }) {
                #expect(try after.read(snapshot.uuid, 4096..<12288, engine: recovered) == data, "\(point)")
                let base = try #require(recovered.vdis.first { $0.hidden })
                let image = try Image.open(store: after.container.open(after.volume(base.uuid), writable: false), name: "base")
                #expect(image.isHidden, "\(point)")
            }
        }
    }

    @Test(arguments: ContainerKind.allCases, Interruption.allCases)
    func revertInterruptedAnywhereRecovers(kind: ContainerKind, by interruption: Interruption) throws {
        for point in ["revert:created", "revert:renamed", "revert:committed"] {
            let sr = try TestSR(kind)
            let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
            try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 512), at: 0)
            let snapshot = try #require(try sr.engine.snapshot(vdi.uuid, now: now).newVDI)
            try sr.write(vdi.uuid, [UInt8](repeating: 2, count: 512), at: 0)
            let (after, recovered) = try Self.interrupt(sr, at: point, by: interruption) {
                try sr.engine.revert(vdi.uuid, to: snapshot.uuid, now: now)
            }
            try Self.expectSettled(after, recovered)
            // Before the metadata save the VDI keeps its own data; after it, it has the snapshot's.
            let expected: UInt8 = point == "revert:committed" ? 1 : 2
            #expect(try after.read(vdi.uuid, 0..<512, engine: recovered) == [UInt8](repeating: expected, count: 512), "\(point)")
            #expect(try after.read(snapshot.uuid, 0..<512, engine: recovered) == [UInt8](repeating: 1, count: 512))
        }
    }

    @Test(arguments: ContainerKind.allCases, Interruption.allCases)
    func createAndImportInterruptedAnywhereLeaveNoHalfVDI(kind: ContainerKind, by interruption: Interruption) throws {
        for point in ["create:written", "create:committed"] {
            let sr = try TestSR(kind)
            let source = MemoryBlockStore(size: 4 << 20)
            try source.write([UInt8](repeating: 0x77, count: 4096), at: 1 << 20)
            let (after, recovered) = try Self.interrupt(sr, at: point, by: interruption) {
                _ = try sr.engine.importVDI(.init(size: 0), from: RawSource(store: source))
            }
            try Self.expectSettled(after, recovered)
            #expect(recovered.vdis.count == (point == "create:committed" ? 1 : 0), "\(point)")
            if let vdi = recovered.vdis.first {
                #expect(try after.read(vdi.uuid, (1 << 20)..<((1 << 20) + 4096), engine: recovered) == [UInt8](repeating: 0x77, count: 4096))
            }
        }
    }

    @Test(arguments: ContainerKind.allCases, Interruption.allCases)
    func replaceInterruptedAnywhereKeepsOneWholeContent(kind: ContainerKind, by interruption: Interruption) throws {
        for point in ["replace:written", "replace:renamed", "replace:committed"] {
            let sr = try TestSR(kind)
            let vdi = try sr.engine.createVDI(.init(size: 4 << 20))
            try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 512), at: 0)
            let (after, recovered) = try Self.interrupt(sr, at: point, by: interruption) {
                _ = try sr.engine.replaceContent(vdi.uuid) { staged in
                    guard case .chain(let chain) = staged else { return }
                    try [UInt8](repeating: 2, count: 512).withUnsafeBytes { try chain.write($0, at: 0) }
                }
            }
            try Self.expectSettled(after, recovered)
            let expected: UInt8 = point == "replace:committed" ? 2 : 1
            #expect(try after.read(vdi.uuid, 0..<512, engine: recovered) == [UInt8](repeating: expected, count: 512), "\(point)")
        }
    }

    @Test(arguments: ContainerKind.allCases, Interruption.allCases)
    func destroyInterruptedAnywhereFinishes(kind: ContainerKind, by interruption: Interruption) throws {
        for point in ["destroy:marked", "destroy:emptied", "destroy:committed"] {
            let sr = try TestSR(kind)
            let kept = try sr.engine.createVDI(.init(size: 4 << 20))
            try sr.write(kept.uuid, [UInt8](repeating: 6, count: 512), at: 0)
            let doomed = try sr.engine.createVDI(.init(size: 4 << 20))
            let (after, recovered) = try Self.interrupt(sr, at: point, by: interruption) {
                try sr.engine.deleteVDI(doomed.uuid)
            }
            try Self.expectSettled(after, recovered)
            #expect(recovered.vdis.map(\.uuid) == [kept.uuid], "\(point)")
            #expect(try after.read(kept.uuid, 0..<512, engine: recovered) == [UInt8](repeating: 6, count: 512))
        }
    }

    /// A resize interrupted anywhere keeps the data and leaves a VDI whose record and VHD agree
    /// on one size (either), which can be resized again. On LVs it includes the inflate, killed
    /// between the volume's growth and the footer's move.
    @Test(arguments: ContainerKind.allCases, Interruption.allCases)
    func resizeInterruptedAnywhereKeepsTheData(kind: ContainerKind, by interruption: Interruption) throws {
        let journaled = kind != .memoryLVs
        let points = ["resize:inflated", "resize:resized"]
            + (journaled ? Resize.Step.allCases.map { "resize:" + $0.rawValue } : ["inflate:grown"])
        let target: UInt64 = journaled ? 1000 << 30 : 1 << 30
        for point in points {
            let sr = try TestSR(kind)
            let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
            let data = [UInt8](repeating: 0x33, count: 4096)
            try sr.write(vdi.uuid, data, at: 0)
            let (after, recovered) = try Self.interrupt(sr, at: point, by: interruption) {
                _ = try sr.engine.resize(vdi.uuid, to: target)
            }
            try Self.expectSettled(after, recovered)
            #expect(try after.read(vdi.uuid, 0..<4096, engine: recovered) == data, "\(point)")
            #expect(!(try after.container.list().contains { $0.name.hasPrefix(".journal-") }), "\(point)")
            let record = try recovered.vdi(vdi.uuid)
            // The strict writable open every writer uses accepts the VHD.
            let store = try after.container.open(after.volume(vdi.uuid), writable: true)
            let image = try Image.open(store: store, name: "leaf", options: .readWrite)
            #expect(record.virtualSize == image.virtualSize, "\(point)")
            #expect([8 << 20, target].contains(record.virtualSize), "\(point)")
            #expect(try recovered.resize(vdi.uuid, to: target).virtualSize == target, "\(point)")
            #expect(try after.read(vdi.uuid, 0..<4096, engine: recovered) == data, "\(point)")
        }
    }

    /// A fast resize killed between its two footer writes (the primary at the end first, then
    /// the copy at 0) leaves them disagreeing; the next load makes both the one it reads, and
    /// the record takes that size. (Found by the kill loop: `vhd-util check` refused the VHD.)
    @Test func aResizeKilledBetweenItsFooterWritesIsSettled() throws {
        let sr = try TestSR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        let path = sr.directory.path(for: vdi.uuid + ".vhd")
        let oldCopy = try #require(FileManager.default.contents(atPath: path)).prefix(512)
        _ = try sr.engine.resize(vdi.uuid, to: 16 << 20)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.write(contentsOf: oldCopy)
        try handle.close()
        try sr.engine.journal.begin(Intent(kind: "resize", vdiUUID: vdi.uuid, parameters: ["size": "\(16 << 20)"]))
        let recovered = try sr.reload()
        let bytes = try #require(FileManager.default.contents(atPath: path))
        #expect(bytes.prefix(512) == bytes.suffix(512), "both footers agree")
        #expect(try recovered.vdi(vdi.uuid).virtualSize == 16 << 20)
        #expect(try recovered.journal.pending().intents.isEmpty)
        let report = Check.image(at: path)
        #expect(report.problems.isEmpty && report.errno == 0, "\(report.problems)")
    }
}
