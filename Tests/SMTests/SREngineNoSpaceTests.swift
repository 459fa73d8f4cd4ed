import BlockIO
import Foundation
import Synchronization
import TestSupport
import Testing
import VHD

@testable import SM

/// Issue 8, finding 3: with no room for the metadata save, an operation fails with `SRNoSpace`
/// and leaves no trace (it must not reappear later as a real VDI), the SR still loads and reads,
/// and a destroy still works, freeing the space.
@Suite struct SREngineNoSpaceTests {
    /// An SR over `kind` whose metadata medium can be told to refuse writes, with one VDI.
    struct Fixture {
        let sr: TestSR
        let medium: ScriptedMedium
        let engine: SREngine
        let vdi: VDIRecord
        let data = [UInt8](repeating: 0x6c, count: 64 << 10)

        init(_ kind: ContainerKind) throws {
            sr = try TestSR(kind)
            medium = ScriptedMedium(over: RecordMetadataMedium(records: sr.container.records))
            engine = try Fixture.load(sr, medium)
            vdi = try engine.createVDI(.init(size: 8 << 20))
            try sr.write(vdi.uuid, data, at: 1 << 20, engine: engine)
        }

        static func load(_ sr: TestSR, _ medium: ScriptedMedium) throws -> SREngine {
            try SREngine.load(
                srUUID: sr.engine.srUUID, container: sr.container, metadataStore: SRMetadataStore(medium: medium),
                journal: IntentJournal(records: sr.container.records))
        }

        /// The SR as the next process sees it, with nothing left behind and its VDI's data intact.
        func expectClean(_ engine: SREngine, vdis expected: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(engine.vdis.count == expected, "\(engine.vdis)", sourceLocation: sourceLocation)
            #expect(try engine.journal.pending().intents.isEmpty, sourceLocation: sourceLocation)
            let names = try sr.container.list().map(\.name).filter {
                !$0.hasPrefix(".spare-") && !$0.hasPrefix("sm-metadata") && $0 != VolumeNaming.records
            }
            let recorded = Set(engine.vdis.map { sr.volume($0.uuid) })
            #expect(Set(names) == recorded, "\(names) vs \(recorded)", sourceLocation: sourceLocation)
            #expect(try sr.read(vdi.uuid, (1 << 20)..<((1 << 20) + 65536), engine: engine) == data, sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: ContainerKind.allCases, [SREngine.SnapshotType.double, .single])
    func aSnapshotThatCannotSaveLeavesNoTrace(kind: ContainerKind, type: SREngine.SnapshotType) throws {
        let fixture = try Fixture(kind)
        let (sr, medium, engine, vdi) = (fixture.sr, fixture.medium, fixture.engine, fixture.vdi)
        medium.writes.store(.refuseWithNoSpace, ordering: .relaxed)
        let error = #expect(throws: SRError.self) { try engine.snapshot(vdi.uuid, type: type, now: now) }
        #expect(error?.code.number == 44 /* SRNoSpace */)
        try fixture.expectClean(engine, vdis: 1)
        // Reads work on the full SR, and once room is made the snapshot is still not there.
        try fixture.expectClean(try Fixture.load(sr, medium), vdis: 1)
        medium.writes.store(.succeed, ordering: .relaxed)
        try fixture.expectClean(try Fixture.load(sr, medium), vdis: 1)
    }

    @Test(arguments: ContainerKind.allCases)
    func aCloneRevertCreateOrResizeThatCannotSaveLeavesNoTrace(kind: ContainerKind) throws {
        let fixture = try Fixture(kind)
        let (sr, medium, engine, vdi) = (fixture.sr, fixture.medium, fixture.engine, fixture.vdi)
        let snapshot = try #require(try engine.snapshot(vdi.uuid, now: now).newVDI)
        try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 512), at: 0, engine: engine)
        medium.writes.store(.refuseWithNoSpace, ordering: .relaxed)
        #expect(throws: SRError.self) { try engine.snapshot(vdi.uuid, isClone: true, now: now) }
        #expect(throws: SRError.self) { try engine.revert(vdi.uuid, to: snapshot.uuid, now: now) }
        #expect(throws: SRError.self) { try engine.createVDI(.init(size: 4 << 20)) }
        #expect(throws: SRError.self) { try engine.resize(vdi.uuid, to: 16 << 20) }
        #expect(throws: SRError.self) { try engine.resize(vdi.uuid, to: 200 << 30) }
        medium.writes.store(.succeed, ordering: .relaxed)
        let reloaded = try Fixture.load(sr, medium)
        try fixture.expectClean(reloaded, vdis: 3)
        #expect(try sr.read(vdi.uuid, 0..<512, engine: reloaded) == [UInt8](repeating: 1, count: 512))
        #expect(try reloaded.vdi(vdi.uuid).virtualSize == 8 << 20)
        let leaf = try sr.container.open(sr.volume(vdi.uuid), writable: false)
        #expect(try ImageSummary.read(store: leaf, name: vdi.uuid).virtualSize == 8 << 20)
    }

    @Test(arguments: ContainerKind.allCases)
    func aDestroyOnAFullSRFreesTheSpaceAndStays(kind: ContainerKind) throws {
        let fixture = try Fixture(kind)
        let (sr, medium, engine, vdi) = (fixture.sr, fixture.medium, fixture.engine, fixture.vdi)
        let other = try engine.createVDI(.init(size: 8 << 20))
        try sr.write(other.uuid, [UInt8](repeating: 9, count: 1 << 20), at: 0, engine: engine)
        medium.writes.store(.refuseWithNoSpace, ordering: .relaxed)
        try engine.deleteVDI(other.uuid)
        #expect((try? engine.vdi(other.uuid)) == nil)
        #expect(engine.unsavedRecovery?.code.number == 44 /* SRNoSpace */)
        let marker = VolumeNaming.destroying(sr.volume(other.uuid))
        if sr.container.volumesGrowOnWrite {
            #expect(try sr.container.open(marker, writable: false).size == 0, "the space is freed at once")
        }
        // Loaded again while still full: the VDI stays destroyed, in memory, and reads work.
        let stillFull = try Fixture.load(sr, medium)
        #expect((try? stillFull.vdi(other.uuid)) == nil)
        #expect(stillFull.unsavedRecovery != nil)
        medium.writes.store(.succeed, ordering: .relaxed)
        let reloaded = try Fixture.load(sr, medium)
        #expect(reloaded.unsavedRecovery == nil)
        #expect(!sr.container.exists(marker))
        try fixture.expectClean(reloaded, vdis: 1)
        try fixture.expectClean(try Fixture.load(sr, medium), vdis: 1)
    }

    /// Replacing a VDI's content (an import into it) on a full SR leaves the old content whole.
    @Test(arguments: ContainerKind.allCases)
    func aReplacementThatCannotSaveKeepsTheOldContent(kind: ContainerKind) throws {
        let fixture = try Fixture(kind)
        let (sr, medium, engine, vdi) = (fixture.sr, fixture.medium, fixture.engine, fixture.vdi)
        medium.writes.store(.refuseWithNoSpace, ordering: .relaxed)
        #expect(throws: SRError.self) {
            _ = try engine.replaceContent(vdi.uuid) { staged in
                guard case .chain(let chain) = staged else { return }
                try [UInt8](repeating: 0xee, count: 1 << 20).withUnsafeBytes { try chain.write($0, at: 0) }
            }
        }
        try fixture.expectClean(engine, vdis: 1)
        medium.writes.store(.succeed, ordering: .relaxed)
        try fixture.expectClean(try Fixture.load(sr, medium), vdis: 1)
        #expect(try sr.read(vdi.uuid, 0..<512, engine: engine) == [UInt8](repeating: 0, count: 512))
    }
}
