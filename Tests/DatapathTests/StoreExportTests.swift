import BlockIO
import Foundation
import NBD
import TestSupport
import Testing

/// `StoreExport` over a real sparse file.
@Suite struct StoreExportTests {
    static func file(_ directory: TemporaryDirectory, size: UInt64 = 4 << 20) throws -> FileBlockStore {
        try FileBlockStore.create(path: directory.path(for: "disk.raw"), size: size)
    }

    @Test func readsWritesAndReportsDataAndHolesFromTheFile() throws {
        let directory = try TemporaryDirectory(prefix: "store-export")
        let export = StoreExport(store: try Self.file(directory))
        #expect(export.size == 4 << 20 && !export.isReadOnly)
        let bytes = [UInt8](repeating: 0x5a, count: 64 << 10)
        try bytes.withUnsafeBytes { raw in try export.write(raw, at: 1 << 20) }
        try export.flush()
        var back = [UInt8](repeating: 0, count: bytes.count)
        try back.withUnsafeMutableBytes { raw in try export.read(into: raw, at: 1 << 20) }
        #expect(back == bytes)
        let extents = try export.blockStatus(0..<(4 << 20))
        #expect(extents.first == Extent(length: 1 << 20, flags: [.hole, .zero]))
        #expect(extents.contains(Extent(length: 64 << 10, flags: [])))
        #expect(extents.reduce(0) { $0 + UInt64($1.length) } == 4 << 20)
    }

    @Test func trimAndWriteZeroesPunchHolesThatReadAsZeroes() throws {
        let directory = try TemporaryDirectory(prefix: "store-export")
        let export = StoreExport(store: try Self.file(directory))
        let bytes = [UInt8](repeating: 0x77, count: 1 << 20)
        try bytes.withUnsafeBytes { raw in try export.write(raw, at: 0) }
        try export.trim(0..<(256 << 10))
        try export.writeZeroes((256 << 10)..<(512 << 10), keepAllocated: false)
        try export.writeZeroes((512 << 10)..<(768 << 10), keepAllocated: true)
        var back = [UInt8](repeating: 1, count: 1 << 20)
        try back.withUnsafeMutableBytes { raw in try export.read(into: raw, at: 0) }
        #expect(back[..<(768 << 10)].allSatisfy { $0 == 0 })
        #expect(back[(768 << 10)...].allSatisfy { $0 == 0x77 })
        let extents = try export.blockStatus(0..<(1 << 20))
        #expect(extents.first == Extent(length: 512 << 10, flags: [.hole, .zero]), "\(extents)")
    }

    @Test func aReadOnlyExportRefusesEveryChangeWithEPERM() throws {
        let directory = try TemporaryDirectory(prefix: "store-export")
        _ = try Self.file(directory)
        let export = StoreExport(store: try FileBlockStore(path: directory.path(for: "disk.raw"), readOnly: true))
        #expect(export.isReadOnly)
        let bytes = [UInt8](repeating: 1, count: 512)
        #expect(throws: NBDError.self) {
            try bytes.withUnsafeBytes { raw in try export.write(raw, at: 0) }
        }
        var refusal: NBDError?
        do throws(NBDError) { try export.trim(0..<512) } catch { refusal = error }
        #expect(Self.isEPERM(refusal))
        refusal = nil
        do throws(NBDError) { try export.writeZeroes(0..<512, keepAllocated: false) } catch { refusal = error }
        #expect(Self.isEPERM(refusal))
        refusal = nil
        do {
            try bytes.withUnsafeBytes { raw in try export.write(raw, at: 0) }
        } catch { refusal = error as? NBDError }
        #expect(Self.isEPERM(refusal))
        try export.flush()
    }

    static func isEPERM(_ error: NBDError?) -> Bool {
        guard case .export(let errno, _) = error else { return false }
        return errno == NBDErrno.eperm
    }
}
