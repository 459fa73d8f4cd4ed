import BlockIO
import Foundation
import Testing
import VHD

@testable import SM

/// Issue 8, finding 8: a new VDI may not take its SR's uuid (locks, refcounts and lookups key
/// on the uuid alone), whichever way it is made; the refusal leaves no volume behind.
@Suite struct NewVDIUUIDTests {
    @Test func createAndImportRefuseTheSRsUUID() throws {
        let sr = try TestSR()
        var request = SREngine.NewVDI(size: 4 << 20)
        request.uuid = sr.engine.srUUID
        let before = try FileManager.default.contentsOfDirectory(atPath: sr.directory.path).sorted()
        let created = #expect(throws: SRError.self) { try sr.engine.createVDI(request) }
        let source = RawSource(store: MemoryBlockStore(size: 2 << 20))
        let imported = #expect(throws: SRError.self) { try sr.engine.importVDI(request, from: source) }
        for error in [created, imported] {
            #expect(error?.code.number == 78 /* VDICreate */)
            let expected = "VDI uuid \(sr.engine.srUUID) is the uuid of its SR; a VDI needs a uuid of its own"
            #expect(error?.opterr == expected)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: sr.directory.path).sorted() == before)
        #expect(sr.engine.vdis.isEmpty)
        request.uuid = Identifier.newUUID()
        #expect(try sr.engine.createVDI(request).uuid == request.uuid)
    }
}
