import BlockIO
import Foundation
import TestSupport
import Testing
import VHD

@testable import SM

let now = "20261121T17:00:00Z"

/// The engine's operations, each run over every kind of container (`ContainerKind`).
@Suite struct SREngineTests {
    @Test(arguments: ContainerKind.allCases)
    func createsVDIsWithRoundedSizesAndRefusesOversize(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        var request = SREngine.NewVDI(size: 3 << 20)
        request.nameLabel = "disk"
        let vdi = try sr.engine.createVDI(request)
        #expect(vdi.virtualSize == 4 << 20)
        #expect(sr.container.exists(sr.volume(vdi.uuid)))
        let error = #expect(throws: SRError.self) { try sr.engine.createVDI(SREngine.NewVDI(size: 3 << 40)) }
        #expect(error?.code.number == 79 /* VDISize */)
        #expect(try sr.reload().vdi(vdi.uuid).nameLabel == "disk")
    }

    @Test(arguments: ContainerKind.allCases)
    func rawVDIsAreVolumesOfTheirSize(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        var request = SREngine.NewVDI(size: 6 << 20)
        request.volumeType = .raw
        let vdi = try sr.engine.createVDI(request)
        let store = try sr.container.open(sr.volume(vdi.uuid, type: .raw), writable: true)
        #expect(store.size == sr.container.provisioning.rounded(6 << 20))
        try store.write([UInt8](repeating: 3, count: 512), at: 1 << 20)
        #expect(try sr.engine.resize(vdi.uuid, to: 10 << 20).virtualSize == 10 << 20)
        let grown = try sr.container.open(sr.volume(vdi.uuid, type: .raw), writable: false)
        #expect(grown.size >= 10 << 20)
        #expect(try grown.read(count: 512, at: 1 << 20) == [UInt8](repeating: 3, count: 512))
    }

    @Test(arguments: ContainerKind.allCases)
    func doubleSnapshotKeepsTheUUIDAndMakesAHiddenBase(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
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
        #expect(Set(try sr.container.list().map(\.name).filter { sr.container.naming.vdi(of: $0) != nil })
            == Set([vdi.uuid, base.uuid, snapshot.uuid].map { sr.volume($0) }))
    }

    @Test(arguments: ContainerKind.allCases)
    func snapshotOfAnEmptyChildDropsTheEmptyBase(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 512), at: 0)
        let first = try sr.engine.snapshot(vdi.uuid, now: now)
        let second = try sr.engine.snapshot(vdi.uuid, now: now)
        #expect(second.baseCopy == nil)
        #expect(try sr.engine.vdi(vdi.uuid).parent == first.baseCopy?.uuid)
        #expect(second.newVDI?.parent == first.baseCopy?.uuid)
        #expect(try sr.read(vdi.uuid, 0..<512) == [UInt8](repeating: 1, count: 512))
    }

    @Test(arguments: ContainerKind.allCases)
    func cloneIsAWritableIndependentCopy(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        try sr.write(vdi.uuid, [UInt8](repeating: 7, count: 512), at: 512)
        let clone = try #require(try sr.engine.snapshot(vdi.uuid, isClone: true, now: now).newVDI)
        #expect(!clone.isASnapshot)
        try sr.write(clone.uuid, [UInt8](repeating: 9, count: 512), at: 512)
        #expect(try sr.read(vdi.uuid, 512..<1024) == [UInt8](repeating: 7, count: 512))
        #expect(try sr.read(clone.uuid, 512..<1024) == [UInt8](repeating: 9, count: 512))
    }

    @Test(arguments: ContainerKind.allCases)
    func revertRestoresASnapshotsContentKeepingTheUUID(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
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
        #expect(!sr.container.exists(VolumeNaming.previous(sr.volume(vdi.uuid))))
    }

    @Test(arguments: ContainerKind.allCases)
    func chainDepthIsLimited(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        sr.engine.chainDepthLimit = 3
        let vdi = try sr.engine.createVDI(.init(size: 4 << 20))
        for round in 0..<2 {
            try sr.write(vdi.uuid, [UInt8](repeating: UInt8(round + 1), count: 512), at: 0)
            _ = try sr.engine.snapshot(vdi.uuid, type: .single, now: now)
        }
        try sr.write(vdi.uuid, [UInt8](repeating: 3, count: 512), at: 0)
        let error = #expect(throws: SRError.self) { try sr.engine.snapshot(vdi.uuid, now: now) }
        #expect(error?.code.number == 109 /* SnapshotChainTooLong */)
    }

    @Test(arguments: ContainerKind.allCases)
    func resizeGrowsOnlineWithinTheBATAndOfflineBeyond(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        try sr.write(vdi.uuid, [UInt8](repeating: 4, count: 512), at: 0)
        #expect(try sr.engine.resize(vdi.uuid, to: 10 << 30, online: true).virtualSize == 10 << 30)
        if sr.container.volumesGrowOnWrite {
            // Files get a BAT for twice the size (at least 64 GiB); beyond it only offline.
            #expect(throws: SRError.self) { try sr.engine.resize(vdi.uuid, to: 1000 << 30, online: true) }
            #expect(try sr.engine.resize(vdi.uuid, to: 1000 << 30).virtualSize == 1000 << 30)
        } else {
            // LVs get LVHD's BAT for the largest VDI, so every resize is a fast one.
            #expect(try sr.engine.resize(vdi.uuid, to: 1000 << 30, online: true).virtualSize == 1000 << 30)
        }
        #expect(try sr.read(vdi.uuid, 0..<512) == [UInt8](repeating: 4, count: 512))
        #expect(try sr.reload().vdi(vdi.uuid).virtualSize == 1000 << 30)
        let shrink = #expect(throws: SRError.self) { try sr.engine.resize(vdi.uuid, to: 8 << 20) }
        #expect(shrink?.code.number == 79 /* VDISize */)
    }

    @Test(arguments: ContainerKind.allCases)
    func importWritesTheSourceIntoANewVDI(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let source = MemoryBlockStore(size: 6 << 20)
        try source.write([UInt8](repeating: 0x5a, count: 8192), at: 3 << 20)
        for type in [VDIRecord.VolumeType.vhd, .raw] {
            var request = SREngine.NewVDI(size: 0)
            request.volumeType = type
            let vdi = try sr.engine.importVDI(request, from: RawSource(store: source))
            #expect(vdi.virtualSize == 6 << 20)
            let store = try sr.container.open(sr.volume(vdi.uuid, type: type), writable: false)
            if type == .vhd {
                #expect(try sr.read(vdi.uuid, (3 << 20)..<((3 << 20) + 8192)) == [UInt8](repeating: 0x5a, count: 8192))
                _ = try Image.open(store: store, name: "imported")
            } else {
                #expect(try store.read(count: 8192, at: 3 << 20) == [UInt8](repeating: 0x5a, count: 8192))
            }
        }
    }

    @Test(arguments: ContainerKind.allCases)
    func scanReconcilesRecordsWithVolumes(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let kept = try sr.engine.createVDI(.init(size: 4 << 20))
        let gone = try sr.engine.createVDI(.init(size: 4 << 20))
        try sr.container.remove(sr.volume(gone.uuid))
        let stranger = Identifier.newUUID()
        let options = Create.Options(virtualSize: 4 << 20)
        let store = try sr.container.create(sr.volume(stranger), size: sr.engine.initialVolumeSize(.vhd, options: options))
        _ = try Create.image(on: store, options: options)
        // Names the container does not use for VDIs are no VDIs.
        _ = try sr.container.create(Identifier.newUUID() + (sr.container.volumesGrowOnWrite ? "" : ".vhd"), size: 4 << 20)
        let report = try sr.engine.scan()
        #expect(report.introduced == [stranger] && report.forgotten == [gone.uuid])
        #expect(try sr.engine.vdi(kept.uuid).uuid == kept.uuid)
        #expect(sr.engine.vdis.count == 2)
    }

    @Test(arguments: ContainerKind.allCases)
    func deleteRefusesParentsAndRemovesLeaves(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let vdi = try sr.engine.createVDI(.init(size: 4 << 20))
        try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 512), at: 0)
        let result = try sr.engine.snapshot(vdi.uuid, now: now)
        let base = try #require(result.baseCopy)
        let inUse = #expect(throws: SRError.self) { try sr.engine.deleteVDI(base.uuid) }
        #expect(inUse?.code.number == 24 /* VDIInUse */)
        let snapshot = try #require(result.newVDI)
        try sr.engine.deleteVDI(snapshot.uuid)
        #expect(throws: SRError.self) { try sr.engine.vdi(snapshot.uuid) }
        #expect(!sr.container.exists(sr.volume(snapshot.uuid)))
        #expect(!(try sr.container.list().contains { VolumeNaming.volume(ofDestroying: $0.name) != nil }))
        let missing = #expect(throws: SRError.self) { try sr.engine.vdi("../x") }
        #expect(missing?.code.number == 144 /* VDIMissing */)
    }

    @Test(arguments: ContainerKind.allCases)
    func resetOnBootAndComposeWorkThroughTheContainer(kind: ContainerKind) throws {
        let sr = try TestSR(kind)
        let parent = try sr.engine.createVDI(.init(size: 4 << 20))
        try sr.write(parent.uuid, [UInt8](repeating: 8, count: 512), at: 0)
        let child = try sr.engine.createVDI(.init(size: 4 << 20))
        // compose needs a differencing child: a clone's leaf is one.
        let clone = try #require(try sr.engine.snapshot(child.uuid, isClone: true, now: now).newVDI)
        try sr.engine.compose(parent: parent.uuid, child: clone.uuid)
        #expect(try sr.read(clone.uuid, 0..<512) == [UInt8](repeating: 8, count: 512))
        #expect(try sr.engine.vdi(parent.uuid).hidden)
        try sr.write(clone.uuid, [UInt8](repeating: 9, count: 512), at: 0)
        try sr.engine.updateVDI(clone.uuid) { $0.onBoot = .reset }
        try sr.engine.resetOnBoot(clone.uuid)
        #expect(try sr.read(clone.uuid, 0..<512) == [UInt8](repeating: 8, count: 512))
        let loop = #expect(throws: SRError.self) { try sr.engine.compose(parent: clone.uuid, child: parent.uuid) }
        #expect(loop != nil)
    }
}
