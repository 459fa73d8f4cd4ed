import BlockIO
import Foundation
import TestSupport
import Testing
import VHD
import VHDFormat

/// Regressions for engine bugs the interop work found (each fixed in 2396329): blktap's
/// tap 0.1/1.1 footer checksums, confinement decided before the file system is consulted,
/// and virtual sizes that are not whole sectors.
@Suite struct InteropRegressionTests {
    /// blktap's `vhd_validate_footer` accepts a footer whose checksum covers every byte, and,
    /// only for creator "tap" versions 0.1 and 1.1, also one computed with `hidden` taken as 0
    /// ("early td-util did not re-calculate checksum when marking vhds 'hidden'"). Ours used to
    /// accept only the second for those versions, so a tap 1.1 image marked hidden by any
    /// current tool (SM's GC hides coalesced parents this way) failed: "no valid footer".
    @Test func tap11FooterWithAFullChecksumOpens() async throws {
        let directory = try TemporaryDirectory(prefix: "finding-tap11")
        let path = directory.path(for: "old.vhd")
        _ = try Disks.create(path, size: 4 << 20)
        try Hostile.editFooter(path) { footer in
            footer.creatorVersion = 0x0001_0001
            footer.hidden = 1
        }
        // `editFooter` writes `encoded()`: the checksum over all 512 bytes, hidden included.
        let image = try Disks.open(path)
        #expect(image.isHidden)
    }

    /// The same gap from our own side: `Image.setHidden(true)` on a tap 1.1 image writes a full
    /// checksum (`Footer.encoded()`), which our reader used to reject.
    @Test func hidingATap11ImageKeepsItOpenable() async throws {
        let directory = try TemporaryDirectory(prefix: "finding-hide")
        let path = directory.path(for: "old.vhd")
        _ = try Disks.create(path, size: 4 << 20)
        try Hostile.edit(path) { bytes in
            // An old-style tap 1.1 footer: hidden 0, so both checksum rules agree.
            var footer = try Footer(decoding: Array(bytes.suffix(Footer.size)))
            footer.creatorVersion = 0x0001_0001
            let encoded = footer.encoded()
            bytes.replaceSubrange((bytes.count - Footer.size)..., with: encoded)
            bytes.replaceSubrange(0..<Footer.size, with: encoded)
        }
        try Disks.open(path, writable: true).setHidden(true)
        let image = try Disks.open(path)
        #expect(image.isHidden)
    }

    /// A confined resolver must refuse a parent outside its root before looking at the file
    /// system. Ours used to resolve with `realpath` first, so a missing outside target gave
    /// `.notFound` (naming the outside path) instead of `.forbiddenParentPath`: the answer
    /// depended on, and revealed, what exists outside the repository.
    @Test func confinedResolverRefusesAMissingOutsidePathAsForbidden() async throws {
        let outer = try TemporaryDirectory(prefix: "finding-confine")
        let repository = outer.path(for: "sr")
        try FileManager.default.createDirectory(atPath: repository, withIntermediateDirectories: false)
        let resolver = FileParentResolver(confinement: repository)
        let child = repository + "/child.vhd"
        let error = #expect(throws: VHDError.self) { _ = try resolver.resolvePath("../missing.vhd", of: child) }
        guard case .forbiddenParentPath(child, "../missing.vhd", _) = error else {
            Issue.record("expected .forbiddenParentPath, got \(String(describing: error))")
            return
        }
    }

    /// A virtual size must be whole sectors: the VHD footer's size is read in sectors by QEMU,
    /// and our own writes are sector based. `Create` used to accept 1000 bytes, and then the
    /// last, partial sector could not be written (`Chain.write` at 990 failed with
    /// `.outOfRange` at 512). Either refusing the size or rounding it up to 1024 is correct.
    @Test func createdDiskOfANonSectorSizeIsRefusedOrFullyWritable() async throws {
        let image: Image
        do {
            image = try Create.image(on: MemoryBlockStore(), options: .init(virtualSize: 1000))
        } catch {
            guard case .invalidArgument = error else { throw error }
            return
        }
        let chain = Chain(layers: [image])
        try [UInt8](repeating: 7, count: 10).withUnsafeBytes { try chain.write($0, at: 990) }
        #expect(try Disks.read(chain, 990..<1000) == [UInt8](repeating: 7, count: 10))
    }

    /// `qemu-img convert` rounds a raw file of an odd size up to whole sectors. Our `Convert`
    /// used to keep the odd size in the footer: QEMU then read a 1000-byte raw file's dynamic
    /// VHD as 512 bytes (the rest lost) and refused the fixed VHD ("invalid VPC image": its
    /// footer sat at byte 1000, not on a sector boundary).
    @Test(.enabled(if: Tools.haveQemu, Comment(rawValue: Tools.missingQemu)), arguments: [Convert.Format.vhdDynamic, .vhdFixed])
    func rawFileOfAnOddSizeConvertsToAnImageQEMUReadsWhole(format: Convert.Format) async throws {
        let directory = try TemporaryDirectory(prefix: "finding-odd")
        let data = pattern(count: 1000, seed: 0x61)
        let raw = try FileBlockStore.create(path: directory.path(for: "odd.raw"))
        try raw.write(data, at: 0)
        let path = directory.path(for: "odd.vhd")
        try Convert.convert(RawSource(store: raw), to: format, store: try FileBlockStore.create(path: path))
        let info = try await QemuImg.info(path)
        #expect(info.virtualSize >= 1000 && info.virtualSize % 512 == 0)
        let back = directory.path(for: "back.raw")
        try await QemuImg.convertToRaw(path, back)
        #expect(Array(try FileBlockStore(path: back, readOnly: true).read(count: 1000, at: 0)) == data)
    }
}
