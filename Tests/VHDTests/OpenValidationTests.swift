import BlockIO
import Testing
import VHDFormat

@testable import VHD

/// One open, two strengths: `.full` checks every structure before the engine reads or writes;
/// `.libvhd` checks what blktap's `vhd_open` checks and answers through `Image.libvhd`, so
/// `check` and the read-only `vhd-util` verbs reach blktap's verdicts on damaged images.
@Suite struct OpenValidationTests {
    /// A 4 MiB dynamic disk with 0x5A in its first block.
    func written() throws -> MemoryBlockStore {
        let store = MemoryBlockStore()
        let image = try Create.image(on: store, name: "d.vhd", options: .init(virtualSize: 4 << 20))
        try [UInt8](repeating: 0x5A, count: 4096).withUnsafeBytes { try image.write($0, at: 0) }
        try image.flush()
        return store
    }

    /// Points BAT entry 1 at block 0's sectors, so the two blocks overlap.
    func overlapped() throws -> MemoryBlockStore {
        let store = try written()
        let image = try Image.open(store: store, name: "d.vhd")
        let header = try #require(image.header)
        let first = try store.read(count: 4, at: header.tableOffset)
        try store.write(first, at: header.tableOffset + 4)
        return store
    }

    @Test func anOverlappingBlockFailsTheFullOpenAndIsVisibleThroughLibvhd() throws {
        let store = try overlapped()
        #expect {
            _ = try Image.open(store: store, name: "d.vhd")
        } throws: { error in
            guard case VHDError.invalid(_, let problem) = error else { return false }
            return problem.contains("overlaps block 0")
        }
        let image = try Image.open(store: store, name: "d.vhd", options: .libvhd())
        let bat = try image.libvhd.bat()
        #expect(bat.count == 2 && bat[0] == bat[1] && bat[0] != BlockAllocationTable.unused)
        #expect(try image.libvhd.readBlock(block: 1).prefix(4096) == [UInt8](repeating: 0x5A, count: 4096)[...])
    }

    @Test func aLibvhdOpenRefusesDataReadsAndWrites() throws {
        let store = try written()
        let image = try Image.open(store: store, name: "d.vhd", options: .libvhd())
        #expect(throws: VHDError.self) { _ = try image.extents(in: 0..<4096) }
        #expect(throws: VHDError.self) { _ = try image.allocatedRanges() }
        #expect(throws: VHDError.self) { _ = try image.sectorBitmap(0) }
        var writable = Image.OpenOptions.libvhd()
        writable.writable = true
        #expect(throws: VHDError.self) { _ = try Image.open(store: store, name: "d.vhd", options: writable) }
        #expect(try Image.open(store: store, name: "d.vhd").extents(in: 0..<4096) == [.init(range: 0..<4096, isPresent: true)])
    }

    @Test func aFileTooSmallForAFooterIsInvalidToTheEngineAndAShortReadToLibvhd() throws {
        let store = MemoryBlockStore(name: "tiny", bytes: [UInt8](repeating: 0, count: 100))
        #expect(throws: VHDError.self) { _ = try Image.open(store: store) }
        do { _ = try Image.open(store: store) } catch { #expect(error.errno == 22) }
        do { _ = try Image.open(store: store, options: .libvhd()) } catch { #expect(error.errno == 5) }
    }

    @Test func aPoisonedDiskOpensOnlyWhenDisabledIsIgnoredOrFast() throws {
        let store = try written()
        for offset in [UInt64(0), store.size - 512] {
            var footer = try Footer(decoding: try store.read(count: 512, at: offset))
            footer.cookie = Array(Footer.poisonCookie.utf8)
            footer.storedChecksum = footer.computedChecksum
            try store.write(footer.encoded(), at: offset)
        }
        #expect(throws: VHDError.disabled(image: "d.vhd")) {
            _ = try Image.open(store: store, name: "d.vhd", options: .libvhd(ignoreDisabled: false))
        }
        #expect(try Image.open(store: store, name: "d.vhd", options: .libvhd()).footer.isPoisoned)
        #expect(try Image.open(store: store, name: "d.vhd", options: .libvhd(ignoreDisabled: false, fast: true)).header != nil)
    }

    @Test func theBackupFooterOptionTakesTheCopyAtOffsetZero() throws {
        let store = try written()
        var copy = try Footer(decoding: try store.read(count: 512, at: 0))
        copy.hidden = 1
        copy.storedChecksum = copy.computedChecksum
        try store.write(copy.encoded(), at: 0)
        #expect(try Image.open(store: store, name: "d.vhd", options: .libvhd()).footer.hidden == 0)
        let backup = try Image.open(store: store, name: "d.vhd", options: .libvhd(backupFooter: true))
        #expect(backup.footer.hidden == 1)
        #expect(backup.footerSource == .backup(primaryProblem: "not read"))
    }

    @Test func aBlockSizeOnlyTheEngineAcceptsFailsTheLibvhdOpen() throws {
        let store = MemoryBlockStore()
        _ = try Create.image(on: store, name: "big.vhd", options: .init(virtualSize: 16 << 20, blockSize: 4 << 20))
        #expect(try Image.open(store: store, name: "big.vhd").blockSize == 4 << 20)
        #expect {
            _ = try Image.open(store: store, name: "big.vhd", options: .libvhd())
        } throws: { error in
            guard case VHDError.invalid(_, let problem) = error else { return false }
            return problem == "invalid block size 4194304"
        }
    }
}
