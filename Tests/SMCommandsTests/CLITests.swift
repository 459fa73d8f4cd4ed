import BlockIO
import Foundation
import Glibc
import Testing
import VHD
import VHDFormat

/// The `sm` verbs end to end on a directory SR, through the built executable.
@Suite(.enabled(if: CLIHarness.binary != nil, "needs the built sm executable"))
struct CLITests {
    let sm: CLIHarness

    init() throws { sm = try CLIHarness() }

    @Test func srCreateListScanDetachAttachDestroy() async throws {
        let sr = try await sm.createSR(name: "local")
        #expect(FileManager.default.fileExists(atPath: sm.srParent + "/\(sr)/sm-metadata.json"))
        let listed = try await sm.json([SREntryJSON].self, "sr-list")
        #expect(listed.count == 1)
        #expect(listed.first?.uuid == sr && listed.first?.nameLabel == "local" && listed.first?.type == "ext")
        #expect(listed.first?.attached == true && listed.first?.vdiCount == 0)
        #expect(listed.first?.deviceConfig == ["path": sm.srParent])
        let table = try await sm.ok("sr-list")
        #expect(table.hasPrefix("uuid  "))
        #expect(table.contains(sr) && table.contains("local") && table.contains("path=\(sm.srParent)"))
        await #expect(try sm.ok("sr-scan", "sr=local").hasPrefix("scanned SR \(sr): 0 introduced"))

        try await sm.ok("sr-detach", "uuid=\(sr)")
        await #expect(try sm.json([SREntryJSON].self, "sr-list").first?.attached == false)
        let detached = try await sm.run("vdi-create", "sr=\(sr)", "virtual-size=1MiB")
        #expect(detached.status != 0 && detached.errorOutput.contains("detached"))
        try await sm.ok("sr-attach", "uuid=\(sr)")
        try await sm.ok("sr-destroy", "sr=local")
        await #expect(try sm.json([SREntryJSON].self, "sr-list").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: sm.srParent + "/\(sr)"))
    }

    @Test func probeFindsTheSRAndAFreshRegistryCanAttachIt() async throws {
        let sr = try await sm.createSR(name: "found")
        let vdi = try await sm.ok("vdi-create", "virtual-size=4MiB", "name-label=kept")
        let xml = try await sm.ok("sr-probe", "device-config:path=\(sm.srParent)", "sm-config:metadata=true")
        #expect(xml.contains("<UUID>\(sr)</UUID>") && xml.contains("<name_label>found</name_label>"))
        let probed = try await sm.json([[String: String]].self, "sr-probe", "device-config:path=\(sm.srParent)")
        #expect(probed == [["UUID": sr, "Devlist": sm.srParent, "size": probed.first?["size"] ?? ""]])

        // Another host: a new state directory knows nothing, attaches what probe found, and
        // sees the VDI with its name (the SR describes itself).
        let other = ["SM_STATE_DIR": sm.path("other-state")]
        let attach = try await sm.run(
            ["sr-attach", "uuid=\(sr)", "type=ext", "device-config:path=\(sm.srParent)"], environment: other)
        try attach.requireSuccess()
        let list = try await sm.run(["vdi-list", "--json"], environment: other).requireSuccess().json([VDIListingJSON].self)
        #expect(list.first?.nameLabel == "found")
        #expect(list.first?.vdis.first { $0.uuid == vdi }?.nameLabel == "kept")
    }

    @Test func vdiCreateSnapshotCloneResizeDestroyAndTheTree() async throws {
        let sr = try await sm.createSR()
        let disk = try await sm.ok(
            "vdi-create", "sr=\(sr)", "virtual-size=10MiB", "name-label=disk", "name-description=the disk")
        let raw = try await sm.ok("vdi-create", "virtual-size=3MiB", "type=raw", "name-label=scratch")
        #expect(FileManager.default.fileExists(atPath: sm.srParent + "/\(sr)/\(raw).raw"))
        // After its reply, vdi-create left a detached `sm sr-upkeep` making the spare leaves the
        // disk's first snapshot takes; the snapshot takes them and leaves the next ones.
        let spares = [".spare-64-0", ".spare-64-1"]
        func sparesAppear() -> Bool {
            for _ in 0..<500 {
                if spares.allSatisfy({ FileManager.default.fileExists(atPath: sm.srParent + "/\(sr)/" + $0) }) { return true }
                usleep(10_000)
            }
            return false
        }
        #expect(sparesAppear())
        func inode(_ name: String) -> UInt64? {
            (try? FileManager.default.attributesOfItem(atPath: sm.srParent + "/\(sr)/" + name))?[.systemFileNumber] as? UInt64
        }
        let before = spares.map(inode)
        let snapshot = try await sm.ok("vdi-snapshot", "uuid=\(disk)", "name-label=before")
        #expect(sparesAppear(), "the upkeep after the snapshot's reply made new spares")
        #expect(spares.map(inode) != before, "the snapshot took the spares it found")
        let clone = try await sm.ok("vdi-clone", "uuid=\(disk)", "new-name-label=copy")
        let records = try await sm.json([VDIListingJSON].self, "vdi-list", "sr=\(sr)").first?.vdis ?? []
        let byUUID = Dictionary(records.map { ($0.uuid, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byUUID[disk]?.virtualSize == 10 << 20 && byUUID[disk]?.nameDescription == "the disk")
        #expect(byUUID[raw]?.volumeType == "raw" && byUUID[raw]?.virtualSize == 4 << 20)
        #expect(byUUID[snapshot]?.isASnapshot == true && byUUID[snapshot]?.snapshotOf == disk)
        #expect(byUUID[snapshot]?.nameLabel == "before")
        #expect(byUUID[clone]?.nameLabel == "copy" && byUUID[clone]?.isASnapshot == false)

        let tree = try await sm.ok("vdi-list")
        #expect(tree.contains("SR \(sr) (local)"))
        #expect(tree.contains("├─ ") || tree.contains("└─ "))
        #expect(tree.contains("snapshot of \(disk.prefix(8))"))

        await #expect(try sm.ok("vdi-resize", "uuid=\(disk)", "disk-size=1GiB") == "1 GiB")
        let tooSmall = try await sm.run("vdi-resize", "uuid=\(disk)", "disk-size=1MiB")
        #expect(tooSmall.status != 0 && tooSmall.errorOutput.contains("79"))
        try await sm.ok("vdi-destroy", "uuid=\(clone)")
        try await sm.ok("vdi-destroy", "uuid=\(raw)")
        let remaining = try await sm.json([VDIListingJSON].self, "vdi-list").first?.vdis.map(\.uuid) ?? []
        #expect(!remaining.contains(clone) && !remaining.contains(raw) && remaining.contains(disk))
        let missing = try await sm.run("vdi-destroy", "uuid=\(clone)")
        #expect(missing.status != 0 && missing.errorOutput.contains("VDI could not be found"))
    }

    @Test func importSnapshotWriteRevertAndExportRoundTrip() async throws {
        let sr = try await sm.createSR()
        let original = try sm.rawFile(
            "original.raw", size: 24 << 20, data: [(0, 0x5A, 3 << 20), (16 << 20, 0xC3, 1 << 20)])
        let imported = try await sm.ok("vdi-import", "filename=\(original)")
        let record = try await sm.json([VDIListingJSON].self, "vdi-list", "uuid=\(imported)").first?.vdis.first
        #expect(record?.nameLabel == "original.raw" && record?.virtualSize == 24 << 20)
        #expect((record?.physicalUtilisation ?? .max) < 7 << 20, "only the three 2 MiB blocks holding data are copied")

        let snapshot = try await sm.ok("vdi-snapshot", "uuid=\(imported)")
        try sm.overwrite(imported, in: sr, with: 0x11, at: 0, count: 1 << 20)
        let changed = sm.path("changed.raw")
        try await sm.ok("vdi-export", "uuid=\(imported)", "filename=\(changed)")
        #expect(try sm.contents(changed) != sm.contents(original))
        #expect(try sm.contents(changed).prefix(1 << 20) == Data(repeating: 0x11, count: 1 << 20))

        let exported = sm.path("snapshot.raw")
        try await sm.ok("vdi-export", "uuid=\(snapshot)", "filename=\(exported)", "format=raw")
        #expect(try sm.contents(exported) == sm.contents(original))
        try await sm.ok("vdi-revert", "uuid=\(imported)", "snapshot-uuid=\(snapshot)")
        let reverted = sm.path("reverted.raw")
        try await sm.ok("vdi-export", "uuid=\(imported)", "filename=\(reverted)")
        #expect(try sm.contents(reverted) == sm.contents(original))

        // VHD out and back in.
        let vhd = sm.path("disk.vhd")
        try await sm.ok("vdi-export", "uuid=\(imported)", "filename=\(vhd)")
        #expect(try sm.contents(vhd).suffix(512).prefix(8) == Data("conectix".utf8))
        let again = try await sm.ok("vdi-import", "filename=\(vhd)", "name-label=again")
        let back = sm.path("back.raw")
        try await sm.ok("vdi-export", "uuid=\(again)", "filename=\(back)")
        #expect(try sm.contents(back) == sm.contents(original))
    }

    @Test func importIntoAnExistingVDIReplacesItsWholeContent() async throws {
        try await sm.createSR()
        let first = try sm.rawFile("first.raw", size: 24 << 20, data: [(0, 0x5A, 3 << 20), (16 << 20, 0xC3, 1 << 20)])
        let second = try sm.rawFile("second.raw", size: 20 << 20, data: [(1 << 20, 0x77, 1 << 20)])
        let vdi = try await sm.ok("vdi-import", "filename=\(first)")
        let snapshot = try await sm.ok("vdi-snapshot", "uuid=\(vdi)")
        await #expect(try sm.ok("vdi-import", "uuid=\(vdi)", "filename=\(second)") == vdi)
        let now = sm.path("now.raw")
        try await sm.ok("vdi-export", "uuid=\(vdi)", "filename=\(now)")
        var expected = try sm.contents(second)
        expected.append(Data(count: 4 << 20))
        #expect(try sm.contents(now) == expected, "the 0xC3 MiB the first image had at 16 MiB is gone")
        try await sm.ok("vdi-export", "uuid=\(snapshot)", "filename=\(now)")
        #expect(try sm.contents(now) == sm.contents(first), "the snapshot kept the first image")

        let large = try sm.rawFile("large.raw", size: 32 << 20, data: [(0, 1, 512)])
        let tooLarge = try await sm.run("vdi-import", "uuid=\(vdi)", "filename=\(large)")
        #expect(tooLarge.status != 0 && tooLarge.errorOutput.contains("VDI Invalid size"))
        let intoSnapshot = try await sm.run("vdi-import", "uuid=\(snapshot)", "filename=\(second)")
        #expect(intoSnapshot.status == 0, "a snapshot is a writable leaf of its own")
    }

    @Test func progressGoesToStandardError() async throws {
        try await sm.createSR()
        let source = try sm.rawFile("p.raw", size: 8 << 20, data: [(0, 1, 1 << 20)])
        let result = try await sm.run("vdi-import", "filename=\(source)")
        try result.requireSuccess()
        #expect(result.errorOutput.contains("importing: 100%"))
        #expect(!result.output.contains("%"))
    }

    /// A FIFO given as the file to import (either format) fails at once, saying what it is; the
    /// import used to block in `open(2)` waiting for a writer. `run` kills `sm` past the bound.
    @Test(arguments: ["pipe.vhd", "pipe.raw"])
    func importOfAFIFOFailsPromptly(name: String) async throws {
        try await sm.createSR()
        let fifo = sm.path(name)
        #expect(mkfifo(fifo, 0o644) == 0)
        let result = try await sm.run(["vdi-import", "filename=\(fifo)"], timeout: 20)
        #expect(result.status != 0)
        #expect(result.errorOutput.contains("\(fifo) is a FIFO, not a regular file or block device"), "\(result)")
        await #expect(try sm.json([VDIListingJSON].self, "vdi-list").first?.vdis.isEmpty ?? true)
    }

    /// A VHD whose size was cut to 0 under 1 MiB of data is refused, naming the block and the
    /// size, instead of being imported as an empty VDI.
    @Test func importOfAVHDWhoseSizeWasCutUnderItsDataIsRefused() async throws {
        try await sm.createSR()
        let path = sm.path("cut.vhd")
        let image = try Create.image(on: try FileBlockStore.create(path: path), name: path, options: .init(virtualSize: 2 << 20))
        try [UInt8](repeating: 0x5A, count: 1 << 20).withUnsafeBytes { try image.write($0, at: 0) }
        try image.flush()
        let store = try FileBlockStore(path: path)
        var footer = try Footer(decoding: try store.read(count: 512, at: store.size - 512))
        footer.currentSize = 0
        footer.storedChecksum = footer.computedChecksum
        try store.write(footer.encoded(), at: store.size - 512)
        try store.write(footer.encoded(), at: 0)
        let result = try await sm.run("vdi-import", "filename=\(path)")
        #expect(result.status != 0)
        #expect(result.errorOutput.contains("block 0 is allocated but starts at virtual byte 0, at or beyond the current size of 0 bytes"), "\(result)")
        await #expect(try sm.json([VDIListingJSON].self, "vdi-list").first?.vdis.isEmpty ?? true)
    }

    @Test func usageErrorsNameTheProblem() async throws {
        let unknown = try await sm.run("sr-create", "colour=blue")
        #expect(unknown.status != 0 && unknown.errorOutput.contains("unknown parameter 'colour'"))
        let noEquals = try await sm.run("vdi-create", "virtual-size")
        #expect(noEquals.status != 0 && noEquals.errorOutput.contains("expected key=value"))
        let badSize = try await sm.run("vdi-create", "virtual-size=lots")
        #expect(badSize.status != 0 && badSize.errorOutput.contains("is not a size"))
        let noSR = try await sm.run("vdi-create", "virtual-size=1MiB")
        #expect(noSR.status != 0 && noSR.errorOutput.contains("no SR is attached"))
        let missingConfig = try await sm.run("sr-create", "name-label=x")
        #expect(
            missingConfig.status != 0
                && missingConfig.errorOutput.contains("The request is missing the device parameter"))
        try await sm.createSR()
        let illegal = try await sm.run("vdi-create", "virtual-size=1MiB", "name-label=bad\u{1}name")
        #expect(illegal.status != 0 && illegal.errorOutput.contains("447"))
        let hostile = try await sm.run("vdi-destroy", "uuid=../x")
        #expect(hostile.status != 0 && hostile.errorOutput.contains("VDI could not be found"))
    }

    @Test func installPluginsLinksEXTSRToThisBinary() async throws {
        let plugins = sm.path("plugins")
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        let printed = try await sm.ok("install-plugins", plugins)
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: plugins + "/EXTSR")
        #expect(URL(fileURLWithPath: target).lastPathComponent == "sm")
        #expect(printed == "\(plugins)/EXTSR -> \(target)")
        try await sm.ok("install-plugins", plugins)  // replacing its own links is fine
    }
}
