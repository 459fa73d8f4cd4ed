import BlockIO
import Foundation
import Testing
import VHD

@testable import SM

@Suite struct SpareLeafTests {
    func spares(_ sr: TestSR) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: sr.directory.path).filter(SpareLeaves.isSpare).sorted()
    }

    @Test func leafCapacityIsAPowerOfTwoGiBFrom64To2040() {
        #expect(SREngine.leafCapacity(for: 1 << 30) == 64 << 30)
        #expect(SREngine.leafCapacity(for: 33 << 30) == 128 << 30)
        #expect(SREngine.leafCapacity(for: 100 << 30) == 256 << 30)
        #expect(SREngine.leafCapacity(for: 1 << 40) == 2040 << 30)
        #expect(SREngine.leafCapacity(for: 2040 << 30) == 2040 << 30)
    }

    @Test func snapshotTakesReadySparesAndTheChainReadsTheSame() throws {
        let sr = try TestSR()
        let vdi = try sr.engine.createVDI(.init(size: 1 << 30))
        try sr.write(vdi.uuid, [UInt8](repeating: 1, count: 8192), at: 4096)
        #expect(try sr.engine.replenishSpares(forSize: vdi.virtualSize) == 2)
        #expect(try spares(sr) == [".spare-64-0", ".spare-64-1"])
        #expect(try sr.engine.replenishSpares(forSize: vdi.virtualSize) == 0)

        let snapshot = try #require(try sr.engine.snapshot(vdi.uuid, now: now).newVDI)
        #expect(try spares(sr).isEmpty)
        for uuid in [vdi.uuid, snapshot.uuid] {
            #expect(try sr.read(uuid, 0..<16384) == [UInt8](repeating: 0, count: 4096) + [UInt8](repeating: 1, count: 8192) + [UInt8](repeating: 0, count: 4096))
            let report = Check.image(at: sr.directory.path(for: uuid + ".vhd"))
            #expect(report.isValid, "\(report.problems)")
        }
        // The VDI's leaf can still grow online within its capacity, and is written to.
        try sr.write(vdi.uuid, [UInt8](repeating: 2, count: 512), at: 0)
        #expect(try sr.read(snapshot.uuid, 0..<512) == [UInt8](repeating: 0, count: 512))
        #expect(try sr.engine.scan().introduced.isEmpty)
    }

    @Test func aSpareThatIsNotWhatItsNameSaysIsDroppedAndTheLeafMadeWhole() throws {
        let sr = try TestSR()
        let vdi = try sr.engine.createVDI(.init(size: 1 << 30))
        try sr.engine.replenishSpares(forSize: vdi.virtualSize)
        // One spare truncated (a torn copy), the other written to (it holds a block).
        truncate(sr.directory.path(for: ".spare-64-0"), 4096)
        let other = try Image.open(store: try FileBlockStore(path: sr.directory.path(for: ".spare-64-1")), name: "spare", options: .readWrite)
        try [UInt8](repeating: 9, count: 512).withUnsafeBytes { try other.write($0, at: 0) }
        let snapshot = try #require(try sr.engine.snapshot(vdi.uuid, now: now).newVDI)
        for uuid in [vdi.uuid, snapshot.uuid] {
            #expect(try sr.read(uuid, 0..<512) == [UInt8](repeating: 0, count: 512))
        }
        #expect(try spares(sr).isEmpty)
    }

    @Test func aSpareBeingMadeWhenTheProcessDiedIsNeverTakenAndIsRemade() throws {
        let sr = try TestSR()
        let vdi = try sr.engine.createVDI(.init(size: 1 << 30))
        let torn = sr.directory.path(for: ".spare-64-0.tmp")
        #expect(FileManager.default.createFile(atPath: torn, contents: Data(repeating: 0x55, count: 1000)))
        _ = try sr.engine.snapshot(vdi.uuid, now: now)
        #expect(FileManager.default.fileExists(atPath: torn))
        #expect(try sr.engine.replenishSpares(forSize: vdi.virtualSize) == 2)
        #expect(try spares(sr) == [".spare-64-0", ".spare-64-1"])
    }
}
