import BlockIO
import Foundation
import TestSupport
import Testing
import VHD

@testable import SM

/// An ext-style SR in a temporary directory, engine included.
struct DirectorySR {
    let directory: TemporaryDirectory
    let container: FileVolumeContainer
    var engine: SREngine

    init(faultPoint: FaultPoint = .none) throws {
        directory = try TemporaryDirectory(prefix: "sr")
        container = FileVolumeContainer(directory: directory.path)
        engine = try SREngine.create(
            sr: SRRecord(uuid: Identifier.newUUID(), nameLabel: "test", type: "ext"), container: container,
            metadataStore: SRMetadataStore(medium: FileMetadataMedium(directory: directory.path)),
            journal: IntentJournal(directory: directory.path))
        engine.faultPoint = faultPoint
    }

    /// The engine as the next process would load it (recovery included).
    func reload() throws -> SREngine {
        try SREngine.load(
            srUUID: engine.srUUID, container: container,
            metadataStore: SRMetadataStore(medium: FileMetadataMedium(directory: directory.path)),
            journal: IntentJournal(directory: directory.path))
    }

    func write(_ uuid: String, _ bytes: [UInt8], at offset: UInt64, engine: SREngine? = nil) throws {
        let chain = try (engine ?? self.engine).openChain(uuid, writable: true)
        try bytes.withUnsafeBytes { try chain.write($0, at: offset) }
    }

    func read(_ uuid: String, _ range: Range<UInt64>, engine: SREngine? = nil) throws -> [UInt8] {
        let chain = try (engine ?? self.engine).openChain(uuid, writable: false)
        var bytes = [UInt8](repeating: 0, count: range.count)
        try bytes.withUnsafeMutableBytes { try chain.read(into: $0, at: range.lowerBound) }
        return bytes
    }
}

let now = "20261121T17:00:00Z"

@Suite struct SREngineTests {
    @Test func createsVDIsWithRoundedSizesAndRefusesOversize() throws {
        let sr = try DirectorySR()
        var request = SREngine.NewVDI(size: 3 << 20)
        request.nameLabel = "disk"
        let vdi = try sr.engine.createVDI(request)
        #expect(vdi.virtualSize == 4 << 20)
        #expect(FileManager.default.fileExists(atPath: sr.directory.path(for: vdi.uuid + ".vhd")))
        let error = #expect(throws: SRError.self) { try sr.engine.createVDI(SREngine.NewVDI(size: 3 << 40)) }
        #expect(error?.code.number == 79)
        #expect(try sr.reload().vdi(vdi.uuid).nameLabel == "disk")
    }

    @Test func doubleSnapshotKeepsTheUUIDAndMakesAHiddenBase() throws {
        let sr = try DirectorySR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 4096), at: 0)
        let result = try sr.engine.snapshot(vdi.uuid, now: now)
        let base = try #require(result.baseCopy)
        let snapshot = try #require(result.newVDI)
        #expect(base.hidden && base.readOnly && !base.managed)
        #expect(snapshot.isASnapshot && snapshot.snapshotOf == vdi.uuid && snapshot.parent == base.uuid)
        #expect(try sr.engine.vdi(vdi.uuid).parent == base.uuid)
        try sr.write(vdi.uuid, [UInt8](repeating: 2, count: 4096), at: 0)
        #expect(try sr.read(snapshot.uuid, 0..<4096) == [UInt8](repeating: 1, count: 4096))
        #expect(try sr.read(vdi.uuid, 0..<4096) == [UInt8](repeating: 2, count: 4096))
    }

    @Test func snapshotOfAnEmptyChildDropsTheEmptyBase() throws {
        let sr = try DirectorySR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 512), at: 0)
        let first = try sr.engine.snapshot(vdi.uuid, now: now)
        let second = try sr.engine.snapshot(vdi.uuid, now: now)
        #expect(second.baseCopy == nil)
        #expect(try sr.engine.vdi(vdi.uuid).parent == first.baseCopy?.uuid)
        #expect(second.newVDI?.parent == first.baseCopy?.uuid)
    }

    @Test func cloneIsAWritableIndependentCopy() throws {
        let sr = try DirectorySR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        try sr.write(vdi.uuid, [UInt8](repeating: 7, count: 512), at: 512)
        let clone = try #require(try sr.engine.snapshot(vdi.uuid, isClone: true, now: now).newVDI)
        #expect(!clone.isASnapshot)
        try sr.write(clone.uuid, [UInt8](repeating: 9, count: 512), at: 512)
        #expect(try sr.read(vdi.uuid, 512..<1024) == [UInt8](repeating: 7, count: 512))
    }

    @Test func revertRestoresASnapshotsContentKeepingTheUUID() throws {
        let sr = try DirectorySR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 4096), at: 0)
        let snapshot = try #require(try sr.engine.snapshot(vdi.uuid, now: now).newVDI)
        try sr.write(vdi.uuid, [UInt8](repeating: 2, count: 4096), at: 0)
        try sr.engine.revert(vdi.uuid, to: snapshot.uuid, now: now)
        #expect(try sr.read(vdi.uuid, 0..<4096) == [UInt8](repeating: 1, count: 4096))
        // A snapshot that was written to is reverted to as written.
        try sr.write(snapshot.uuid, [UInt8](repeating: 5, count: 512), at: 0)
        try sr.engine.revert(vdi.uuid, to: snapshot.uuid, now: now)
        #expect(try sr.read(vdi.uuid, 0..<512) == [UInt8](repeating: 5, count: 512))
        #expect(try sr.read(snapshot.uuid, 0..<512) == [UInt8](repeating: 5, count: 512))
    }

    @Test func chainDepthIsLimited() throws {
        let sr = try DirectorySR()
        sr.engine.chainDepthLimit = 3
        let vdi = try sr.engine.createVDI(.init(size: 4 << 20))
        for round in 0..<2 {
            try sr.write(vdi.uuid, [UInt8(round + 1)], at: 0)
            _ = try sr.engine.snapshot(vdi.uuid, type: .single, now: now)
        }
        try sr.write(vdi.uuid, [UInt8](repeating: 3, count: 512), at: 0)
        let error = #expect(throws: SRError.self) { try sr.engine.snapshot(vdi.uuid, now: now) }
        #expect(error?.code.number == 109)
    }

    @Test func resizeGrowsOnlineWithinTheBATAndOfflineBeyond() throws {
        let sr = try DirectorySR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        try sr.write(vdi.uuid, [UInt8](repeating: 4, count: 512), at: 0)
        #expect(try sr.engine.resize(vdi.uuid, to: 10 << 30, online: true).virtualSize == 10 << 30)
        #expect(throws: SRError.self) { try sr.engine.resize(vdi.uuid, to: 1000 << 30, online: true) }
        #expect(try sr.engine.resize(vdi.uuid, to: 1000 << 30).virtualSize == 1000 << 30)
        #expect(try sr.read(vdi.uuid, 0..<512) == [UInt8](repeating: 4, count: 512))
        let shrink = #expect(throws: SRError.self) { try sr.engine.resize(vdi.uuid, to: 8 << 20) }
        #expect(shrink?.code.number == 79)
    }

    @Test func scanReconcilesRecordsWithVolumes() throws {
        let sr = try DirectorySR()
        let kept = try sr.engine.createVDI(.init(size: 4 << 20))
        let gone = try sr.engine.createVDI(.init(size: 4 << 20))
        try FileManager.default.removeItem(atPath: sr.directory.path(for: gone.uuid + ".vhd"))
        let stranger = Identifier.newUUID()
        _ = try Create.image(on: try FileBlockStore.create(path: sr.directory.path(for: stranger + ".vhd")), options: .init(virtualSize: 4 << 20))
        let report = try sr.engine.scan()
        #expect(report.introduced == [stranger] && report.forgotten == [gone.uuid])
        #expect(try sr.engine.vdi(kept.uuid).uuid == kept.uuid)
        #expect(sr.engine.vdis.count == 2)
    }

    @Test func deleteRefusesParentsAndRemovesLeaves() throws {
        let sr = try DirectorySR()
        let vdi = try sr.engine.createVDI(.init(size: 4 << 20))
        try sr.write(vdi.uuid, [1], at: 0)
        let result = try sr.engine.snapshot(vdi.uuid, now: now)
        let base = try #require(result.baseCopy)
        let inUse = #expect(throws: SRError.self) { try sr.engine.deleteVDI(base.uuid) }
        #expect(inUse?.code.number == 24)
        try sr.engine.deleteVDI(try #require(result.newVDI).uuid)
        #expect(throws: SRError.self) { try sr.engine.vdi(try #require(result.newVDI).uuid) }
        let missing = #expect(throws: SRError.self) { try sr.engine.vdi("../x") }
        #expect(missing?.code.number == 144)
    }
}
