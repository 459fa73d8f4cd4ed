import BlockIO
import Foundation
import TestSupport
import Testing
import VHD

@testable import SM

/// Stops each multi-step operation at every named point, as a crash there would, then loads
/// the SR again: recovery must leave every VDI readable with its data, and no stray volumes.
@Suite struct SREngineCrashTests {
    static let snapshotPoints = ["snapshot:linked", "snapshot:created", "snapshot:renamed", "snapshot:committed", "snapshot:hidden"]

    @Test(arguments: snapshotPoints)
    func snapshotInterruptedAnywhereRecovers(point: String) throws {
        let sr = try DirectorySR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        let data = [UInt8](repeating: 0x42, count: 8192)
        try sr.write(vdi.uuid, data, at: 4096)
        sr.engine.faultPoint = .stop(at: point)
        // Stopped past the commit point, only the finishing steps are left undone (for the next
        // load): the snapshot has happened and may report so.
        if point == "snapshot:hidden" {
            _ = try? sr.engine.snapshot(vdi.uuid, now: now)
        } else {
            #expect(throws: SRError.self) { try sr.engine.snapshot(vdi.uuid, now: now) }
        }
        let recovered = try sr.reload()
        #expect(try recovered.journal.pending().intents.isEmpty)
        #expect(try sr.read(vdi.uuid, 4096..<12288, engine: recovered) == data)
        let volumes = try sr.container.list().map(\.name)
        #expect(!volumes.contains { $0.hasSuffix(".new") || $0.contains(".tmp-") })
        // Every VHD volume is recorded or is a hidden base reached from a record; nothing dangles.
        let recorded = Set(recovered.vdis.map { $0.uuid + ".vhd" })
        #expect(Set(volumes.filter { $0.hasSuffix(".vhd") }).isSubset(of: recorded), "\(volumes) vs \(recorded)")
        // The metadata save is the commit point: a snapshot stopped before it never appears.
        let committed = point == "snapshot:committed" || point == "snapshot:hidden"
        #expect(recovered.vdis.contains { $0.isASnapshot && $0.snapshotOf == vdi.uuid } == committed)
        #expect(recovered.vdis.count == (committed ? 3 : 1), "\(recovered.vdis)")
        // The SR still works: writes to the VDI never reach the snapshot.
        try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 512), at: 4096, engine: recovered)
        if let snapshot = recovered.vdis.first(where: { $0.isASnapshot }) {
            #expect(try sr.read(snapshot.uuid, 4096..<12288, engine: recovered) == data)
        }
    }

    @Test(arguments: ["revert:created", "revert:renamed", "revert:committed"])
    func revertInterruptedAnywhereRecovers(point: String) throws {
        let sr = try DirectorySR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 512), at: 0)
        let snapshot = try #require(try sr.engine.snapshot(vdi.uuid, now: now).newVDI)
        try sr.write(vdi.uuid, [UInt8](repeating: 2, count: 512), at: 0)
        sr.engine.faultPoint = .stop(at: point)
        #expect(throws: SRError.self) { try sr.engine.revert(vdi.uuid, to: snapshot.uuid, now: now) }
        let recovered = try sr.reload()
        let content = try sr.read(vdi.uuid, 0..<512, engine: recovered)
        // Before the metadata save the VDI keeps its own data; after it, it has the snapshot's.
        let expected: UInt8 = point == "revert:committed" ? 1 : 2
        #expect(content == [UInt8](repeating: expected, count: 512))
        #expect(try sr.read(snapshot.uuid, 0..<512, engine: recovered) == [UInt8](repeating: 1, count: 512))
        #expect(!sr.container.exists(vdi.uuid + ".vhd.new"))
        #expect(!sr.container.exists(vdi.uuid + ".vhd.old"))
    }

    @Test(arguments: Resize.Step.allCases.map(\.rawValue))
    func offlineResizeInterruptedAnywhereKeepsTheData(step: String) throws {
        let sr = try DirectorySR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        let data = [UInt8](repeating: 0x33, count: 4096)
        try sr.write(vdi.uuid, data, at: 0)
        sr.engine.faultPoint = .stop(at: "resize:" + step)
        #expect(throws: SRError.self) { try sr.engine.resize(vdi.uuid, to: 1000 << 30) }
        let recovered = try sr.reload()
        #expect(try sr.read(vdi.uuid, 0..<4096, engine: recovered) == data)
        #expect(!(try sr.container.list().contains { $0.name.hasPrefix(".journal-") }))
        #expect(try recovered.vdi(vdi.uuid).virtualSize == 8 << 20)
        // The resize can be done again afterwards.
        #expect(try recovered.resize(vdi.uuid, to: 1000 << 30).virtualSize == 1000 << 30)
        #expect(try sr.read(vdi.uuid, 0..<4096, engine: recovered) == data)
    }

    /// A fast resize killed between its two footer writes (the primary at the end first, then
    /// the copy at 0) leaves them disagreeing; the next load makes both the one it reads, and
    /// the record takes that size. (Found by the kill loop: `vhd-util check` refused the VHD.)
    @Test func aResizeKilledBetweenItsFooterWritesIsSettled() throws {
        let sr = try DirectorySR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        let path = sr.directory.path(for: vdi.uuid + ".vhd")
        let oldCopy = try #require(FileManager.default.contents(atPath: path)).prefix(512)
        _ = try sr.engine.resize(vdi.uuid, to: 16 << 20)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.write(contentsOf: oldCopy)
        try handle.close()
        try sr.engine.journal.begin(Intent(kind: "resize", vdiUUID: vdi.uuid, parameters: ["size": "\(16 << 20)"]))
        let recovered = try sr.reload()
        let bytes = try #require(FileManager.default.contents(atPath: path))
        #expect(bytes.prefix(512) == bytes.suffix(512), "both footers agree")
        #expect(try recovered.vdi(vdi.uuid).virtualSize == 16 << 20)
        #expect(try recovered.journal.pending().intents.isEmpty)
        let report = Check.image(at: path)
        #expect(report.problems.isEmpty && report.errno == 0, "\(report.problems)")
    }
}
