import BlockIO
import Testing
import VHD

@testable import SM

/// What the engine does differently on volumes of a fixed size (LVs), at LVHD's points: new
/// VHDs are inflated for their whole virtual size, base copies deflated to what they use,
/// resizes inflate first; and it never relies on links or on a rename replacing a volume.
@Suite struct LogicalVolumeSemanticsTests {
    let unit: UInt64 = 4 << 20

    @Test func aNewVHDVolumeHoldsEveryBlockOfItsVirtualSize() throws {
        let sr = try TestSR(.memoryLVs)
        let vdi = try sr.engine.createVDI(.init(size: 64 << 20))
        #expect(sr.volume(vdi.uuid) == "VHD-" + vdi.uuid)
        let store = try sr.container.open(sr.volume(vdi.uuid), writable: true)
        #expect(store.size % unit == 0)
        // LVHD's calcSizeVHDLV for 64 MiB with 2 TiB of metadata is 64 + 8 MiB; ours is close.
        #expect(store.size >= 64 << 20 && store.size <= (64 + 12) << 20, "\(store.size)")
        // Every block can be written without the volume growing.
        let chain = try sr.engine.openChain(vdi.uuid, writable: true)
        let block = [UInt8](repeating: 0xee, count: 2 << 20)
        for offset in stride(from: UInt64(0), to: 64 << 20, by: 2 << 20) {
            try block.withUnsafeBytes { try chain.write($0, at: offset) }
        }
        #expect(try sr.container.open(sr.volume(vdi.uuid), writable: false).size == store.size)
        #expect(try sr.read(vdi.uuid, (62 << 20)..<(64 << 20)) == block)
    }

    @Test func aSnapshotDeflatesTheBaseCopyToWhatItUses() throws {
        let sr = try TestSR(.memoryLVs)
        let vdi = try sr.engine.createVDI(.init(size: 256 << 20))
        let inflated = try sr.container.open(sr.volume(vdi.uuid), writable: false).size
        try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 4096), at: 0)
        let result = try sr.engine.snapshot(vdi.uuid, now: now)
        let base = try #require(result.baseCopy)
        let baseSize = try sr.container.open(sr.volume(base.uuid), writable: false).size
        #expect(baseSize < inflated / 4, "\(baseSize) of \(inflated)")
        #expect(base.physicalUtilisation == baseSize)
        #expect(try sr.engine.vdi(base.uuid).physicalUtilisation == baseSize)
        // The leaves are thick again, and the deflated base still reads as before.
        #expect(try sr.container.open(sr.volume(vdi.uuid), writable: false).size == inflated)
        #expect(try sr.read(try #require(result.newVDI).uuid, 0..<4096) == [UInt8](repeating: 1, count: 4096))
        let image = try Image.open(store: try sr.container.open(sr.volume(base.uuid), writable: false), name: "base")
        #expect(image.isHidden)
    }

    @Test func aResizeInflatesTheVolumeFirst() throws {
        let sr = try TestSR(.memoryLVs)
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        try sr.write(vdi.uuid, [UInt8](repeating: 2, count: 512), at: 0)
        let before = try sr.container.open(sr.volume(vdi.uuid), writable: false).size
        _ = try sr.engine.resize(vdi.uuid, to: 72 << 20, online: true)
        let after = try sr.container.open(sr.volume(vdi.uuid), writable: false).size
        #expect(after >= before + (64 << 20))
        let chain = try sr.engine.openChain(vdi.uuid, writable: true)
        try [UInt8](repeating: 3, count: 512).withUnsafeBytes { try chain.write($0, at: (72 << 20) - 512) }
        #expect(try sr.read(vdi.uuid, 0..<512) == [UInt8](repeating: 2, count: 512))
        #expect(try sr.read(vdi.uuid, ((72 << 20) - 512)..<(72 << 20)) == [UInt8](repeating: 3, count: 512))
    }

    @Test func theContainerRefusesWhatLVsCannotDo() throws {
        let container = MemoryVolumeContainer(semantics: .logicalVolumes, capacity: 64 << 20)
        let store = try container.create("VHD-a", size: 1, tags: ["hidden"])
        #expect(store.size == unit && !store.canGrow)
        #expect(throws: BlockIOError.self) { try store.write([1], at: unit) }
        #expect(throws: BlockIOError.self) { try store.resize(to: 2 * unit) }
        _ = try container.create("VHD-b", size: unit)
        #expect(throws: VolumeError.exists(container: "memory", volume: "VHD-b")) { try container.rename("VHD-a", to: "VHD-b") }
        #expect(throws: VolumeError.self) { try container.link("VHD-a", as: "VHD-c") }
        #expect(throws: VolumeError.invalidName("../x")) { try container.create("../x", size: unit) }
        #expect(throws: VolumeError.invalidName("-x")) { try container.create("-x", size: unit) }
        #expect(try container.list().first { $0.name == "VHD-a" }?.tags == ["hidden"])
        try container.setTags(["jvhd"], of: "VHD-b")
        #expect(try container.list().first { $0.name == "VHD-b" }?.tags == ["jvhd"])
        // Extents come from the VG: a volume bigger than what is free is refused whole.
        #expect(throws: VolumeError.noSpace(container: "memory", needed: 60 << 20)) {
            try container.create("VHD-big", size: 60 << 20)
        }
        try container.resize("VHD-a", to: 3 * unit)
        #expect(try container.open("VHD-a", writable: false).size == 3 * unit)
        #expect(try container.space().free == (64 << 20) - 4 * unit)
        try container.remove("VHD-a")
        #expect(try container.space().free == (64 << 20) - unit)
    }

    @Test func fileSemanticsGrowLinkAndRunOutOfSpaceLikeAFileSystem() throws {
        let container = MemoryVolumeContainer(semantics: .files, capacity: 1 << 20)
        let store = try container.create("a.vhd", size: 0)
        try store.write([UInt8](repeating: 1, count: 4096), at: 0)
        try container.link("a.vhd", as: "b.vhd")
        #expect(container.isSameVolume("a.vhd", "b.vhd"))
        // rename(2) of two names of one file leaves both.
        try container.rename("b.vhd", to: "a.vhd")
        #expect(container.exists("a.vhd") && container.exists("b.vhd"))
        let full = #expect(throws: BlockIOError.self) { try store.write([1], at: 2 << 20) }
        if case .system(_, let code, _) = full { #expect(code == 28 /* ENOSPC */) } else { Issue.record("\(String(describing: full))") }
        // A snapshot is the container as it was: later writes do not reach it.
        let frozen = container.snapshot()
        try store.write([UInt8](repeating: 2, count: 4096), at: 0)
        #expect(try frozen.open("b.vhd", writable: false).read(count: 1, at: 0) == [1])
        #expect(try container.open("b.vhd", writable: false).read(count: 1, at: 0) == [2])
    }
}
