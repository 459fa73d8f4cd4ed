import BlockIO
import Foundation
import Glibc
import Synchronization
import TestSupport
import Testing
import VHD

@testable import SM

/// A file container on a file system that went read-only (ext4 errors=remount-ro): every
/// change fails with EROFS, reads work.
struct ReadOnlyContainer: VolumeContainer {
    let files: FileVolumeContainer
    var name: String { files.name }
    var provisioning: VolumeProvisioning { .growOnWrite }
    var supportsLinks: Bool { true }
    var supportsTags: Bool { false }
    var naming: VDIVolumeNaming { .files }
    var records: any RecordMedium { files.records }
    var parentResolver: any ParentResolver { ContainerParentResolver(container: self) }
    func refuse(_ volume: String) -> VolumeError {
        .io(container: name, volume: volume, .system(call: "unlink", errno: EROFS, path: volume))
    }
    func list() throws(VolumeError) -> [VolumeInfo] { try files.list() }
    func exists(_ name: String) -> Bool { files.exists(name) }
    func create(_ name: String, size: UInt64, tags: Set<String>) throws(VolumeError) -> any BlockStore {
        throw refuse(name)
    }
    func open(_ name: String, writable: Bool) throws(VolumeError) -> any BlockStore {
        if writable { throw refuse(name) }
        return try files.open(name, writable: false)
    }
    func resize(_ name: String, to size: UInt64) throws(VolumeError) { throw refuse(name) }
    func rename(_ from: String, to: String) throws(VolumeError) { throw refuse(from) }
    func link(_ existing: String, as new: String) throws(VolumeError) { throw refuse(new) }
    func isSameVolume(_ first: String, _ second: String) -> Bool { files.isSameVolume(first, second) }
    func setTags(_ tags: Set<String>, of name: String) throws(VolumeError) { throw refuse(name) }
    func remove(_ name: String) throws(VolumeError) { throw refuse(name) }
    func sync() throws(VolumeError) {}
    func space() throws(VolumeError) -> (total: UInt64, free: UInt64) { try files.space() }
    func holds(device: UInt64, inode: UInt64) -> Bool { files.holds(device: device, inode: inode) }
    var backingDevice: UInt64? { files.backingDevice }
    func hostPath(of name: String) -> String? { files.hostPath(of: name) }
    func locatorPath(for name: String) -> String { files.locatorPath(for: name) }
}

/// Copies the SR directory (hard links kept) at `point`, then stops: the copy is the SR as a
/// SIGKILL at that point leaves it, without the inline undo the throw then runs.
func killImage(at point: String, of source: String, into target: String) -> FaultPoint {
    FaultPoint { reached throws(SRError) in
        guard reached == point else { return }
        let copy = Process()
        copy.executableURL = URL(fileURLWithPath: "/bin/cp")
        copy.arguments = ["-a", source + "/.", target]
        try? copy.run()
        copy.waitUntilExit()
        throw SRError(.smGeneral, opterr: "killed at \(point)")
    }
}

func load(_ directory: String, container: (any VolumeContainer)? = nil, srUUID: String) throws -> SREngine {
    try SREngine.load(
        srUUID: srUUID, container: container ?? FileVolumeContainer(directory: directory),
        metadataStore: SRMetadataStore(medium: FileMetadataMedium(directory: directory)),
        journal: IntentJournal(directory: directory))
}

func damageIntents(in directory: String) throws {
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasPrefix(".intent-") {
        let path = directory + "/" + name
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[bytes.count - 3] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: path))
    }
}

/// What a review found recovery doing wrong, each now a guarantee: a save that landed counts
/// as committed, damaged intents keep what they may own, a base copy is never reverted, and a
/// journal that cannot be read, a read-only file system or a pending intent there never stop
/// the SR from loading and being read.
@Suite struct RecoveryRobustnessTests {
    /// The metadata save lands, then reports failure (directory fsync EIO): what the medium
    /// holds decides, so the snapshot has happened, and every record has its volume.
    @Test func aSaveThatLandsThenFailsCountsAsCommitted() throws {
        let directory = try TemporaryDirectory(prefix: "sr")
        let medium = ScriptedMedium(directory: directory.path)
        let container = FileVolumeContainer(directory: directory.path)
        let engine = try SREngine.create(
            sr: SRRecord(uuid: Identifier.newUUID(), nameLabel: "t", type: "ext"), container: container,
            metadataStore: SRMetadataStore(medium: medium), journal: IntentJournal(directory: directory.path))
        engine.faultPoint = .none
        let vdi = try engine.createVDI(.init(size: 8 << 20))
        medium.writes.store(.landThenFail, ordering: .relaxed)
        let result = try engine.snapshot(vdi.uuid, now: now)
        #expect(result.newVDI != nil && result.baseCopy != nil)
        medium.writes.store(.succeed, ordering: .relaxed)
        let recovered = try load(directory.path, srUUID: engine.srUUID)
        #expect(recovered.vdis.count == 3, "\(recovered.vdis.map(\.uuid))")
        for record in recovered.vdis {
            #expect(container.exists(record.uuid + ".vhd"), "record \(record.uuid) has no volume")
        }
    }

    /// A committed create whose intent record is damaged: the leftover sweep must not remove
    /// the staging volume, which is the committed VDI's only copy.
    @Test func aDamagedIntentLetsTheSweepDeleteACommittedVolume() throws {
        let sr = try TestSR()
        sr.engine.faultPoint = .stop(at: "create:committed")
        _ = try? sr.engine.createVDI(.init(size: 8 << 20))
        let uuid = try #require(sr.engine.vdis.first?.uuid)
        try damageIntents(in: sr.directory.path)
        let recovered = try sr.reload()
        #expect(recovered.vdis.map(\.uuid) == [uuid])
        #expect(sr.container.exists(uuid + ".vhd") || sr.container.exists(uuid + ".vhd.new"), "committed VDI lost its volume")
    }

    /// An uncommitted snapshot killed after its renames, whose intent is damaged: a scan must
    /// not introduce its base copy and clone as VDIs.
    @Test func aDamagedIntentLetsAFailedSnapshotAppear() throws {
        let sr = try TestSR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        try sr.write(vdi.uuid, [UInt8](repeating: 7, count: 4096), at: 0)
        let image = try TemporaryDirectory(prefix: "killed")
        sr.engine.faultPoint = killImage(at: "snapshot:renamed", of: sr.directory.path, into: image.path)
        #expect(throws: SRError.self) { try sr.engine.snapshot(vdi.uuid, now: now) }
        try damageIntents(in: image.path)
        let recovered = try load(image.path, srUUID: sr.engine.srUUID)
        _ = try recovered.scan()
        #expect(recovered.vdis.count == 1, "\(recovered.vdis.map { ($0.uuid, $0.nameLabel, $0.hidden) })")
    }

    /// Reverting a hidden base copy (the parent of the VDI and its snapshot) is refused: its
    /// children read through its content.
    @Test func aBaseCopyIsNeverReverted() throws {
        let sr = try TestSR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        let data = [UInt8](repeating: 0x11, count: 4096)
        try sr.write(vdi.uuid, data, at: 0)
        let result = try sr.engine.snapshot(vdi.uuid, now: now)
        let base = try #require(result.baseCopy)
        let snapshot = try #require(result.newVDI)
        let error = #expect(throws: SRError.self) { try sr.engine.revert(base.uuid, to: snapshot.uuid, now: now) }
        #expect(error?.code.number == 24 /* VDIInUse */)
        let recovered = try sr.reload()
        #expect((try? sr.read(vdi.uuid, 0..<4096, engine: recovered)) == data)
        #expect((try? sr.read(snapshot.uuid, 0..<4096, engine: recovered)) == data)
    }

    /// One resize journal that cannot be parsed is reported, and the SR still loads.
    @Test func anUnreadableResizeJournalDoesNotWedgeTheSR() throws {
        let sr = try TestSR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        let journal = sr.directory.path(for: ".journal-\(vdi.uuid).vhd")
        FileManager.default.createFile(atPath: journal, contents: Data(repeating: 0, count: 512))
        let loaded = try sr.reload()
        #expect(loaded.unsettledRecovery.contains { $0.contains(".journal-") }, "\(loaded.unsettledRecovery)")
    }

    /// On a file system remounted read-only, a leftover or a pending intent does not stop the
    /// SR from loading and being read; changes are refused while the intent stays unsettled.
    @Test func aReadOnlySRWithALeftoverCanBeRead() throws {
        let sr = try TestSR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        FileManager.default.createFile(atPath: sr.directory.path(for: "sm-metadata.json.tmp-4242-1"), contents: Data())
        let readOnly = ReadOnlyContainer(files: FileVolumeContainer(directory: sr.directory.path))
        #expect(throws: Never.self) {
            let engine = try load(sr.directory.path, container: readOnly, srUUID: sr.engine.srUUID)
            _ = try engine.openChain(vdi.uuid, writable: false)
        }
    }

    @Test func aReadOnlySRWithAPendingSnapshotCanBeRead() throws {
        let sr = try TestSR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        let image = try TemporaryDirectory(prefix: "killed")
        sr.engine.faultPoint = killImage(at: "snapshot:created", of: sr.directory.path, into: image.path)
        #expect(throws: SRError.self) { try sr.engine.snapshot(vdi.uuid, now: now) }
        let readOnly = ReadOnlyContainer(files: FileVolumeContainer(directory: image.path))
        #expect(throws: Never.self) {
            let engine = try load(image.path, container: readOnly, srUUID: sr.engine.srUUID)
            _ = try engine.openChain(vdi.uuid, writable: false)
        }
        let engine = try load(image.path, container: readOnly, srUUID: sr.engine.srUUID)
        #expect(throws: SRError.self) { try engine.snapshot(vdi.uuid, now: now) }
        #expect(try engine.journal.pending().intents.count == 1, "the intent stays for a load that can write")
    }

    /// Issue 9: a snapshot or clone the container refuses answers the catalogue's VDISnapshot
    /// (82) or VDIClone (81), not SMGeneral (202); the codes are typed at every call site now.
    @Test func aRefusedSnapshotOrCloneAnswersItsOwnCode() throws {
        let sr = try TestSR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        let engine = try load(sr.directory.path, container: ReadOnlyContainer(files: FileVolumeContainer(directory: sr.directory.path)), srUUID: sr.engine.srUUID)
        let snapshot = #expect(throws: SRError.self) { try engine.snapshot(vdi.uuid, now: now) }
        #expect(snapshot?.code.number == 82, "\(String(describing: snapshot))")
        let clone = #expect(throws: SRError.self) { try engine.snapshot(vdi.uuid, isClone: true, now: now) }
        #expect(clone?.code.number == 81, "\(String(describing: clone))")
    }

    /// Issue 9: an intent of a kind this SM does not know (a future `coalesce`) is kept and
    /// reported on load, never completed and deleted; nothing it may own is swept.
    @Test func anIntentOfAnUnknownKindIsKeptAndReported() throws {
        let sr = try TestSR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        try sr.engine.journal.begin(Intent(id: "future", kind: "coalesce", vdiUUID: vdi.uuid, parameters: ["x": "y"]))
        FileManager.default.createFile(atPath: sr.directory.path(for: vdi.uuid + ".vhd.new"), contents: Data())
        for _ in 0..<2 {
            let loaded = try sr.reload()
            #expect(try loaded.journal.pending().intents.map(\.id) == ["future"])
            #expect(loaded.unsettledRecovery.contains { $0.contains("future") }, "\(loaded.unsettledRecovery)")
            #expect(sr.container.exists(vdi.uuid + ".vhd.new"), "an unknown operation's staging volume is not swept")
        }
    }
}
