import BlockIO
import Foundation
import TestSupport
import Testing
import VHDFormat

@testable import VHD

@Suite struct ResizeTests {
    @Test func fastResizeGrowsWithinThePreallocatedBAT() throws {
        let store = MemoryBlockStore()
        let image = try Create.image(on: store, options: .init(virtualSize: 10 << 20, preallocatedSize: 100 << 20))
        #expect(image.header?.maxTableEntries == 50)
        try write(image, pattern(count: 4096, seed: 1), at: 0)
        try Resize.fast(image, newSize: 21 << 20)
        let reopened = try Image.open(store: store)
        #expect(reopened.virtualSize == 22 << 20)
        #expect(reopened.footer.geometry == Geometry.blktap(forSize: 22 << 20))
        #expect(Array(try readAll(Chain(layers: [reopened])).prefix(4096)) == pattern(count: 4096, seed: 1))
        #expect(throws: VHDError.self) { try Resize.fast(reopened, newSize: 200 << 20) }
    }

    /// A full resize must move block 0 away from where the grown BAT and batmap go.
    static let written = [0, 1, 50, 99]

    static func populated() throws -> (MemoryBlockStore, [UInt8]) {
        let store = MemoryBlockStore()
        let image = try Create.image(on: store, options: .init(virtualSize: 200 << 20))
        for block in written { try write(image, pattern(count: 64 << 10, seed: UInt8(block)), at: UInt64(block) << 21) }
        return (store, try readAll(Chain(layers: [try Image.open(store: store)])))
    }

    @Test func journaledResizeMovesBlocksAndKeepsData() throws {
        let (store, before) = try Self.populated()
        let journal = MemoryBlockStore()
        try Resize.journaled(store: store, name: "grow", newSize: 4 << 30, journal: journal)
        let grown = try Image.open(store: store)
        #expect(grown.virtualSize == 4 << 30)
        #expect(grown.header?.maxTableEntries == 2048)
        #expect(grown.blockOffset(0)! >= grown.endOfHeaders)
        let chain = Chain(layers: [grown])
        var head = [UInt8](repeating: 0, count: before.count)
        try head.withUnsafeMutableBytes { try chain.read(into: $0, at: 0) }
        #expect(head == before)
    }

    /// Kills the resize at every write (the later ones fail too, as after a crash), then
    /// reverts from the journal: the image is back, byte for byte, as it was.
    @Test func crashAtEveryWriteOfAResizeIsReverted() throws {
        let (pristine, before) = try Self.populated()
        let pristineBytes = try pristine.read(count: Int(pristine.size), at: 0)
        var index = 0
        var completed = false
        while !completed {
            let store = pristine.copy()
            let journal = MemoryBlockStore()
            let faulty = FaultInjectingBlockStore(base: store, fault: .init(index: index))
            do {
                try Resize.journaled(store: faulty, name: "crash", newSize: 4 << 30, journal: journal)
                completed = true
            } catch {
                try Journal.revert(vhd: store, journal: journal)
                #expect(try store.read(count: Int(store.size), at: 0) == pristineBytes, "crash at write \(index)")
                let reverted = try Image.open(store: store)
                #expect(reverted.virtualSize == 200 << 20, "crash at write \(index)")
                #expect(try readAll(Chain(layers: [reverted])) == before, "crash at write \(index)")
            }
            index += 1
        }
        #expect(index > 5)
    }

    /// A resize that committed leaves a journal of just its header: reverting it changes
    /// nothing but re-enabling the disk, for a crash between the commit and the enable.
    @Test func aCommittedJournalOnlyReEnablesTheDisk() throws {
        let (store, before) = try Self.populated()
        let journal = MemoryBlockStore()
        try Resize.journaled(store: store, name: "grow", newSize: 4 << 30, journal: journal)
        #expect(journal.size == 512)
        let header = try #require(JournalHeader(decoding: try journal.read(count: 512, at: 0)))
        #expect(header.dataEntries == 0 && header.metadataEntries == 0)
        let grown = try store.read(count: Int(store.size), at: 0)
        try Journal.revert(vhd: store, journal: journal)
        #expect(try store.read(count: Int(store.size), at: 0) == grown)

        var footer = try Image.open(store: store).footer
        footer.cookie = Array(Footer.poisonCookie.utf8)
        footer.storedChecksum = footer.computedChecksum
        try store.write(footer.encoded(), at: store.size - 512)
        try store.write(footer.encoded(), at: 0)
        #expect(throws: VHDError.disabled(image: store.name)) { _ = try Image.open(store: store) }
        try Journal.revert(vhd: store, journal: journal)
        #expect(try store.read(count: Int(store.size), at: 0) == grown)
        let reopened = try Image.open(store: store)
        #expect(reopened.virtualSize == 4 << 30)
        var head = [UInt8](repeating: 0, count: before.count)
        try head.withUnsafeMutableBytes { try Chain(layers: [reopened]).read(into: $0, at: 0) }
        #expect(head == before)
    }

    @Test func dynamicShrinkIsRefusedWithENOSYS() throws {
        let (store, _) = try Self.populated()
        do {
            try Resize.journaled(store: store, name: "s", newSize: 10 << 20, journal: MemoryBlockStore())
            Issue.record("shrink succeeded")
        } catch { #expect(error.errno == 38) }
    }
}

@Suite struct ChainOperationTests {
    @Test func snapshotSkipsEmptyParentsAndLinksRelatively() throws {
        let directory = try TemporaryDirectory()
        let base = directory.path(for: "base.vhd")
        let image = try Create.image(on: try FileBlockStore.create(path: base), name: base, options: .init(virtualSize: 10 << 20))
        try write(image, pattern(count: 512, seed: 1), at: 0)
        _ = try Snapshot.file(at: directory.path(for: "s1.vhd"), parent: base)
        let s2 = try Snapshot.file(at: directory.path(for: "s2.vhd"), parent: directory.path(for: "s1.vhd"))
        #expect(try ParentLocation.reference(of: s2) == "./base.vhd")
        var options = Snapshot.Options()
        options.linkEmptyParent = true
        let s3 = try Snapshot.file(at: directory.path(for: "s3.vhd"), parent: directory.path(for: "s1.vhd"), options: options)
        #expect(try ParentLocation.reference(of: s3) == "./s1.vhd")
        options.depthLimit = 2
        #expect(throws: VHDError.self) { try Snapshot.file(at: directory.path(for: "s4.vhd"), parent: directory.path(for: "s3.vhd"), options: options) }
    }

    @Test func coalesceCopiesTheChildsSectorsIntoItsParent() throws {
        let directory = try TemporaryDirectory()
        let base = directory.path(for: "base.vhd")
        let parent = try Create.image(on: try FileBlockStore.create(path: base), name: base, options: .init(virtualSize: 10 << 20))
        try write(parent, pattern(count: 8192, seed: 1), at: 0)
        let child = try Snapshot.file(at: directory.path(for: "child.vhd"), parent: base)
        try write(child, pattern(count: 1024, seed: 2), at: 4096)
        try write(child, pattern(count: 512, seed: 3), at: 5 << 20)
        let expected = try readAll(try Chain.open(leaf: child, resolver: FileParentResolver()))
        let sectors = try Coalesce.file(child: directory.path(for: "child.vhd"))
        #expect(sectors == 3)
        #expect(try readAll(Chain(layers: [try FileAccess.image(base, writable: false)])) == expected)
    }

    @Test func rawParentsAreReadAndCoalescedInPlace() throws {
        let directory = try TemporaryDirectory()
        let raw = directory.path(for: "base.raw")
        _ = FileManager.default.createFile(atPath: raw, contents: Data(pattern(count: 5 << 20, seed: 4)))
        var options = Snapshot.Options()
        options.parentIsRaw = true
        let child = try Snapshot.file(at: directory.path(for: "c.vhd"), parent: raw, options: options)
        #expect(child.virtualSize == 5 << 20 && child.bat.count == 3 && child.hasRawParent)
        try write(child, pattern(count: 512, seed: 7), at: 1 << 20)
        let chain = try Chain.open(leaf: child, resolver: FileParentResolver())
        #expect(chain.depth == 2)
        let expected = try readAll(chain)
        _ = try Coalesce.file(child: directory.path(for: "c.vhd"))
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: raw))) == expected)
    }

    @Test func modifyReparentsAndKillsData() throws {
        let directory = try TemporaryDirectory()
        let a = directory.path(for: "a.vhd")
        let b = directory.path(for: "b.vhd")
        for path in [a, b] {
            let image = try Create.image(on: try FileBlockStore.create(path: path), name: path, options: .init(virtualSize: 10 << 20))
            try write(image, pattern(count: 512, seed: path == a ? 1 : 2), at: 0)
        }
        let child = directory.path(for: "c.vhd")
        _ = try Snapshot.file(at: child, parent: a)
        try Modify.setParent(path: child, newParent: b)
        let chain = try Chain.open(leaf: try FileAccess.image(child, writable: false), resolver: FileParentResolver())
        #expect(Array(try readAll(chain).prefix(512)) == pattern(count: 512, seed: 2))
        try Modify.killData(path: b)
        let killed = try FileAccess.image(b, writable: false)
        #expect(killed.bat.allocatedCount == 0 && killed.physicalUtilisation == 3584)
    }
}

@Suite struct ConvertTests {
    @Test(arguments: [Convert.Format.vhdDynamic, .vhdFixed, .raw])
    func chainConvertsToEveryFormatAndBack(format: Convert.Format) throws {
        let directory = try TemporaryDirectory()
        let base = directory.path(for: "base.vhd")
        let parent = try Create.image(on: try FileBlockStore.create(path: base), name: base, options: .init(virtualSize: 9 << 20))
        try write(parent, pattern(count: 1 << 20, seed: 1), at: 0)
        let child = try Snapshot.file(at: directory.path(for: "leaf.vhd"), parent: base)
        try write(child, pattern(count: 4096, seed: 2), at: 8 << 20)
        let expected = try readAll(try Chain.open(leaf: child, resolver: FileParentResolver()))
        let output = directory.path(for: "out.\(format == .raw ? "raw" : "vhd")")
        try Convert.run(input: directory.path(for: "leaf.vhd"), output: output, outputFormat: format)
        let back = directory.path(for: "back.raw")
        try Convert.run(input: output, output: back, inputFormat: format == .raw ? .raw : .vhdDynamic)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: back))) == expected)
        if format == .vhdDynamic {
            let converted = try FileAccess.image(output, writable: false)
            #expect(converted.bat.allocatedCount == 2)
        }
    }

    @Test func rawToDynamicSkipsHolesAndZeroBlocks() throws {
        let directory = try TemporaryDirectory()
        let raw = directory.path(for: "in.raw")
        let store = try FileBlockStore.create(path: raw, size: 64 << 20)
        try store.write(pattern(count: 4096, seed: 3), at: 40 << 20)
        try store.write([UInt8](repeating: 0, count: 2 << 20), at: 8 << 20)
        var fractions: [Double] = []
        try Convert.run(input: raw, output: directory.path(for: "out.vhd"), progress: { fractions.append($0) })
        let image = try FileAccess.image(directory.path(for: "out.vhd"), writable: false)
        #expect(image.bat.allocatedCount == 1 && image.blockOffset(20) != nil)
        #expect(fractions.last == 1)
    }
}
