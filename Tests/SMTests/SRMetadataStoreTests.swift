import Foundation
import Synchronization
import TestSupport
import Testing

@testable import SM

@Suite struct SRMetadataStoreTests {
    static func sample(vdis count: Int = 3) -> SRMetadata {
        var metadata = SRMetadata(
            sr: SRRecord(uuid: "5e1f0c5a-2f4b-4c1e-9d55-0e2f3a4b5c6d", nameLabel: "Local storage", type: "ext"))
        for index in 0..<count {
            let uuid = Identifier.newUUID()
            metadata.vdis[uuid] = VDIRecord(
                uuid: uuid, nameLabel: "disk \(index)", nameDescription: "made by a test",
                virtualSize: UInt64(index) << 30,
                physicalUtilisation: 4096 * UInt64(index), isASnapshot: index % 2 == 1,
                smConfig: ["vhd-parent": index > 0 ? "p\(index - 1)" : ""], otherConfig: ["k": "v\(index)"])
        }
        return metadata
    }

    /// Both media: every behaviour holds for the file medium and the in-memory one.
    static func media() throws -> [(any MetadataMedium, TemporaryDirectory?)] {
        let directory = try TemporaryDirectory()
        return [(FileMetadataMedium(directory: directory.path), directory), (MemoryMetadataMedium(), nil)]
    }

    @Test func roundTripsOnBothMedia() throws {
        for (medium, _) in try Self.media() {
            let store = SRMetadataStore(medium: medium)
            #expect(try store.loadReportingFallback() == nil)
            let error = try #require(throws: SRError.self) { try store.load() }
            #expect(error.code.number == 181 /* MetadataError */)
            let metadata = Self.sample()
            try store.save(metadata)
            #expect(try store.load() == metadata)
            #expect(try store.loadReportingFallback() == .init(metadata: metadata, slot: .current, warnings: []))
        }
    }

    @Test func encodingIsStableAndSorted() throws {
        let metadata = Self.sample(vdis: 20)
        let first = try SRMetadataStore.encode(metadata)
        let second = try SRMetadataStore.encode(metadata)
        #expect(first == second)
        let text = String(decoding: first, as: UTF8.self)
        #expect(text.hasPrefix(#"{"crc32":""#))
        #expect(text.contains(#""format":"swift-sm-sr-metadata""#))
        let payload = text.split(separator: "\n", maxSplits: 1)[1]
        #expect(payload.hasPrefix("{\n  \"sr\" : {"))
        #expect(payload.hasSuffix("}\n"))
    }

    @Test func saveKeepsThePreviousGenerationInSmMetadataJsonPrev() throws {
        let directory = try TemporaryDirectory()
        let medium = FileMetadataMedium(directory: directory.path)
        let store = SRMetadataStore(medium: medium)
        let first = Self.sample(vdis: 1)
        var second = first
        second.sr.nameLabel = "renamed"
        try store.save(first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["sm-metadata.json"])
        try store.save(second)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == [
                "sm-metadata.json", "sm-metadata.json.prev",
            ])
        #expect(try medium.read(.previous) == SRMetadataStore.encode(first))
        #expect(try medium.read(.current) == SRMetadataStore.encode(second))
    }

    @Test func aCorruptCurrentFallsBackToThePreviousWithAWarning() throws {
        for (medium, _) in try Self.media() {
            let warnings = Mutex<[String]>([])
            let store = SRMetadataStore(medium: medium, warning: { text in warnings.withLock { $0.append(text) } })
            let older = Self.sample(vdis: 2)
            var newer = older
            newer.sr.nameDescription = "newer"
            try store.save(older)
            try store.save(newer)
            var bytes = try #require(try medium.read(.current))
            bytes[bytes.count - 10] ^= 0x01
            try medium.write(bytes, to: .current)

            let loaded = try #require(try store.loadReportingFallback())
            #expect(loaded.metadata == older)
            #expect(loaded.slot == .previous)
            #expect(loaded.warnings.contains { $0.contains("checksum mismatch") })
            #expect(warnings.withLock { $0.contains { $0.contains("previous generation") } })

            // Saving over a damaged current keeps the last good generation as the previous one.
            var repaired = older
            repaired.sr.nameDescription = "repaired"
            try store.save(repaired)
            #expect(try store.load() == repaired)
            #expect(try medium.read(.previous) == SRMetadataStore.encode(older))
        }
    }

    @Test func aTornOrMissingCurrentFallsBackToo() throws {
        for (medium, _) in try Self.media() {
            let store = SRMetadataStore(medium: medium)
            let older = Self.sample(vdis: 2)
            var newer = older
            newer.sr.nameLabel = "newer"
            try store.save(older)
            try store.save(newer)
            let current = try #require(try medium.read(.current))
            try medium.write(Array(current.prefix(current.count / 2)), to: .current)
            let torn = try #require(try store.loadReportingFallback())
            #expect(torn.metadata == older && torn.warnings.contains { $0.contains("torn write") })
            try medium.write([], to: .current)
            #expect(try store.load() == older)
            try medium.write(Array("garbage\n".utf8), to: .current)
            #expect(try store.load() == older)
        }
        let memory = MemoryMetadataMedium()
        let store = SRMetadataStore(medium: memory)
        try store.save(Self.sample(vdis: 1))
        try store.save(Self.sample(vdis: 2))
        memory.erase(.current)
        let loaded = try #require(try store.loadReportingFallback())
        #expect(loaded.slot == .previous && loaded.warnings.contains { $0.contains("missing") })
    }

    @Test func bothGenerationsDamagedIsMetadataErrorNamingBoth() throws {
        let medium = MemoryMetadataMedium()
        let store = SRMetadataStore(medium: medium)
        try store.save(Self.sample(vdis: 1))
        try store.save(Self.sample(vdis: 2))
        for slot in MetadataSlot.allCases {
            var bytes = try #require(try medium.read(slot))
            bytes[bytes.count - 5] ^= 0x40
            try medium.write(bytes, to: slot)
        }
        let error = try #require(throws: SRError.self) { try store.load() }
        #expect(error.code.number == 181 /* MetadataError */)
        #expect(error.faultString.hasPrefix("Error in Metadata volume operation for SR. [opterr=current"))
        #expect(error.opterr?.contains("previous generation is unusable") == true)

        let onlyCurrent = MemoryMetadataMedium()
        try onlyCurrent.write(Array("x".utf8), to: .current)
        #expect(throws: SRError.self) { try SRMetadataStore(medium: onlyCurrent).load() }
    }

    @Test func aNewerWritersMetadataIsNeitherReadNorOverwritten() throws {
        let medium = MemoryMetadataMedium()
        let payload = Array(#"{"future":true}"#.utf8)
        let future = ChecksummedRecord.encode(payload, format: SRMetadataStore.recordFormat, version: 2)
        try medium.write(future, to: .current)
        let store = SRMetadataStore(medium: medium)
        let loadError = try #require(throws: SRError.self) { try store.load() }
        #expect(loadError.code.number == 181 /* MetadataError */ && loadError.opterr?.contains("version 2") == true)
        #expect(throws: SRError.self) { try store.save(Self.sample()) }
        #expect(try medium.read(.current) == future)

        var newerModel = Self.sample()
        newerModel.version = SRMetadata.currentVersion + 1
        #expect(throws: SRError.self) { try store.save(newerModel) }
    }

    @Test func aForeignRecordIsNotSRMetadata() throws {
        let medium = MemoryMetadataMedium()
        try medium.write(
            ChecksummedRecord.encode(Array("{}".utf8), format: "swift-sm-intent", version: 1), to: .current)
        let error = try #require(throws: SRError.self) { try SRMetadataStore(medium: medium).load() }
        #expect(error.opterr?.contains("format is 'swift-sm-intent'") == true)
    }

    @Test func unicodeLabelsSurvive() throws {
        for (medium, _) in try Self.media() {
            var metadata = Self.sample(vdis: 1)
            metadata.sr.nameLabel = "Stockage local — 本地存储 💾"
            let uuid = Identifier.newUUID()
            metadata.vdis[uuid] = VDIRecord(
                uuid: uuid, nameLabel: "Ünïcödé \u{1F600} \u{202E}rtl \"quoted\" \\ / \n\t\u{0} end",
                nameDescription: String(repeating: "é", count: 10_000), virtualSize: 1 << 30,
                otherConfig: ["clé": "valeur", "": "empty key"])
            let store = SRMetadataStore(medium: medium)
            try store.save(metadata)
            #expect(try store.load() == metadata)
        }
    }

    @Test func savingUnchangedMetadataWritesNothing() throws {
        let medium = MemoryMetadataMedium()
        let store = SRMetadataStore(medium: medium)
        let metadata = Self.sample()
        try store.save(metadata)
        try store.save(metadata)
        #expect(medium.writeCount == 1)
    }

    @Test func tenThousandVDIsSaveAndLoadInBoundedTime() throws {
        let directory = try TemporaryDirectory()
        let store = SRMetadataStore(medium: FileMetadataMedium(directory: directory.path))
        let metadata = Self.sample(vdis: 10_000)
        let clock = ContinuousClock()
        var saved = Duration.zero
        var loaded = Duration.zero
        var result: SRMetadata?
        saved += try clock.measure { try store.save(metadata) }
        saved += try clock.measure { try store.save(metadata) }  // unchanged: read + compare only
        var changed = metadata
        changed.sr.nameLabel = "changed"
        saved += try clock.measure { try store.save(changed) }  // keeps the previous generation too
        loaded = try clock.measure { result = try store.load() }
        let size = try FileManager.default.attributesOfItem(atPath: directory.path(for: "sm-metadata.json"))[.size] ?? 0
        print("SRMetadataStore, 10,000 VDIs (\(size) bytes): 3 saves \(saved), load \(loaded)")
        #expect(result == changed)
        #expect(saved < .seconds(30) && loaded < .seconds(15))
    }
}
