import ExtDriver
import Foundation
import SM
import TestSupport
import Testing

/// The typed API under both fronts, with the in-memory backend: in-use checks, pausing, names.
@Suite struct SRHostTests {
    let directory: TemporaryDirectory
    let backend: MemoryBlockBackend
    let host: SRHost
    let config: [String: String]

    init() throws { try self.init(canPause: true) }

    init(canPause: Bool) throws {
        directory = try TemporaryDirectory(prefix: "sr-host")
        try FileManager.default.createDirectory(atPath: directory.path(for: "srs"), withIntermediateDirectories: true)
        let paths = HostPaths(
            lockDirectory: directory.path(for: "lock"), refcountDirectory: directory.path(for: "ref"),
            mountBase: directory.path(for: "mnt"), stateDirectory: directory.path(for: "state"))
        backend = MemoryBlockBackend(canPause: canPause)
        host = SRHost(driver: ExtDriver(mountBase: paths.mountBase), paths: paths, backend: backend)
        config = ["path": directory.path(for: "srs")]
    }

    func newSRWithVDI() throws -> (sr: String, vdi: String) {
        let sr = Identifier.newUUID()
        _ = try host.createSR(uuid: sr, deviceConfig: config, nameLabel: "host test")
        try host.attachSR(uuid: sr, deviceConfig: config)
        let vdi = try host.withEngine(srUUID: sr, deviceConfig: config) { engine throws(SRError) in
            try host.createVDI(engine, SREngine.NewVDI(size: 8 << 20)).uuid
        }
        return (sr, vdi)
    }

    @Test func aVDIActiveReadWriteIsPausedAroundASnapshot() throws {
        let (sr, vdi) = try newSRWithVDI()
        try host.withEngine(srUUID: sr, deviceConfig: config) { engine throws(SRError) in
            _ = try host.attachVDI(engine, vdi, writable: true)
            try host.activateVDI(engine, vdi, writable: true, onBoot: .reset)
            #expect(try engine.vdi(vdi).onBoot == .reset)
            _ = try host.snapshotVDI(engine, vdi)
            #expect(try host.backendState(engine, vdi).paused == false)
        }
        #expect(backend.calls == ["attach \(vdi)", "activate \(vdi)", "pause \(vdi)", "unpause \(vdi)"])
    }

    @Test func withoutPausingAnActiveVDIsChainCannotChange() throws {
        let test = try SRHostTests(canPause: false)
        let (sr, vdi) = try test.newSRWithVDI()
        try test.host.withEngine(srUUID: sr, deviceConfig: test.config) { engine throws(SRError) in
            _ = try test.host.attachVDI(engine, vdi, writable: true)
            try test.host.activateVDI(engine, vdi, writable: true)
            expectInUse { () throws(SRError) in _ = try test.host.snapshotVDI(engine, vdi) }
            expectInUse { () throws(SRError) in _ = try test.host.resizeVDI(engine, vdi, to: 16 << 20, online: false) }
            expectInUse { () throws(SRError) in try test.host.deleteVDI(engine, vdi) }
            #expect(try test.host.resizeVDI(engine, vdi, to: 16 << 20, online: true).virtualSize == 16 << 20)
        }
    }

    func expectInUse(_ body: () throws(SRError) -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        do throws(SRError) {
            try body()
            Issue.record("expected VDIInUse", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code.number == 24 /* VDIInUse */, sourceLocation: sourceLocation)
        }
    }

    @Test func namesAreCheckedAndClipped() throws {
        #expect(throws: SRError(.illegalXMLChar, opterr: "U+0001 is not allowed in names and descriptions")) {
            try SRHost.checkedName("a\u{1}b")
        }
        #expect(try SRHost.checkedName("plain") == "plain")
        #expect(try SRHost.checkedName(String(repeating: "€", count: 1000)).utf8.count == 2046)
        #expect(throws: SRError.self) {
            try host.createSR(uuid: Identifier.newUUID(), deviceConfig: config, nameLabel: "\u{FFFF}")
        }
    }

    @Test func srLockIsHeldByTheCallAndRefusesHostileUUIDs() throws {
        let (sr, _) = try newSRWithVDI()
        try host.locked(sr) { () throws(SRError) in
            #expect(try host.paths.locks.srLock(srUUID: sr).isHeld)
        }
        #expect(throws: SRError.self) { try host.locked("../x") { () throws(SRError) in } }
    }
}
