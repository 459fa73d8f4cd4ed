import BlockIO
import Foundation
import TestSupport
import Testing
import VHD
import VHDFormat

/// Images our operations rewrite stay readable by other tools: conversion output, a
/// journaled resize that moves blocks, and a parent that coalesce appended blocks to.
@Suite(.enabled(if: Tools.haveQemu, Comment(rawValue: Tools.missingQemu)), .timeLimit(.minutes(5)))
struct OperationsInteropTests {
    @Test(arguments: [Convert.Format.vhdDynamic, .vhdFixed])
    func qemuReadsOurConversionOfARawFile(format: Convert.Format) async throws {
        let directory = try TemporaryDirectory(prefix: "ops-convert")
        let size: UInt64 = (37 << 20) + 3584
        let raw = try FileBlockStore.create(path: directory.path(for: "in.raw"), size: size)
        var model = DiskModel(size: size)
        for write in Disks.patternWrites(size: size, blockSize: 2 << 20) + [((20 << 20) + 7, pattern(count: 100_000, seed: 7))] {
            try raw.write(write.bytes, at: write.offset)
            model.write(write.bytes, at: write.offset)
        }
        let path = directory.path(for: "out.vhd")
        try Convert.convert(RawSource(store: raw), to: format, store: try FileBlockStore.create(path: path))

        await #expect(try QemuImg.check(path) == nil)
        await #expect(try QemuImg.info(path).virtualSize == size)
        let rawPath = directory.path(for: "back.raw")
        try await QemuImg.convertToRaw(path, rawPath)
        try Disks.expectRawFile(rawPath, equals: model, chain: try Disks.chain(path), limit: size)
        if Tools.haveLibvhdi {
            await #expect(VHDIInfo.bytes(in: try VHDIInfo.fields(path)["Media size"]) == size)
        }
    }

    /// Growing to 2 GiB makes the BAT and batmap reach past the first block, which must move:
    /// the result must still read the same in QEMU and open in libvhdi.
    @Test func qemuAndLibvhdiReadOurResizedImage() async throws {
        let directory = try TemporaryDirectory(prefix: "ops-resize")
        let path = directory.path(for: "grow.vhd")
        let size: UInt64 = 8 << 20
        var model = DiskModel(size: size)
        let image = try Disks.create(path, size: size)
        try Disks.apply(Disks.patternWrites(size: size, blockSize: 2 << 20), to: Chain(layers: [image]), model: &model)
        let firstBlock = image.blockOffset(0)
        try image.flush()

        let grown: UInt64 = 2 << 30
        try Resize.journaled(path: path, newSize: grown, journalPath: directory.path(for: "grow.journal"))
        model.grow(to: grown)
        let resized = try Disks.chain(path, writable: true)
        #expect(resized.leaf.blockOffset(0) != firstBlock, "the resize moved no block")
        try Disks.apply([(grown - 4096, pattern(count: 4096, seed: 0x77))], to: resized, model: &model)
        try resized.leaf.flush()

        await #expect(try QemuImg.check(path) == nil)
        await #expect(try QemuImg.info(path).virtualSize == grown)
        let rawPath = directory.path(for: "grow.raw")
        try await QemuImg.convertToRaw(path, rawPath)
        try Disks.expectRawFile(rawPath, equals: model, chain: nil, limit: grown)
        try Disks.expectEqualWhereWritten(try Disks.chain(path), model)
        // libvhdi takes the media size from the footer's *original* size (offset 40; it calls
        // it "disk size") where QEMU and blktap use the current size (offset 48). blktap's resize
        // leaves the original size alone, and so does ours, so libvhdi still reports 8 MiB: it
        // must accept the image and report exactly that.
        if Tools.haveLibvhdi {
            let footer = try Disks.open(path).footer
            #expect(footer.originalSize == size)
            await #expect(VHDIInfo.bytes(in: try VHDIInfo.fields(path)["Media size"]) == footer.originalSize)
        }
    }

    /// Coalesce appends the child's blocks to the parent; QEMU must read the parent alone as
    /// the whole chain read before.
    @Test func qemuReadsACoalescedParent() async throws {
        let directory = try TemporaryDirectory(prefix: "ops-coalesce")
        let size: UInt64 = (12 << 20) + 512
        let basePath = directory.path(for: "base.vhd")
        var model = DiskModel(size: size)
        try Disks.apply(
            Disks.patternWrites(size: size, blockSize: 2 << 20), to: Chain(layers: [try Disks.create(basePath, size: size)]),
            model: &model)
        let childPath = directory.path(for: "child.vhd")
        _ = try Snapshot.file(at: childPath, parent: basePath)
        try Disks.apply(
            [(5 << 20, pattern(count: 3 << 20, seed: 0x41)), (1024, pattern(count: 1536, seed: 0x42)), (size - 1024, pattern(count: 1024, seed: 0x43))],
            to: try Disks.chain(childPath, writable: true), model: &model)
        _ = try Coalesce.file(child: childPath)

        await #expect(try QemuImg.check(basePath) == nil)
        let rawPath = directory.path(for: "base.raw")
        try await QemuImg.convertToRaw(basePath, rawPath)
        try Disks.expectRawFile(rawPath, equals: model, chain: try Disks.chain(basePath), limit: size)
    }
}
