import Foundation
import TestSupport
import Testing

@testable import SM

/// Seeded mutations of SR metadata and intent records, with their checksums made valid again so
/// the JSON and the record checks are what is exercised: each loads or is refused as damaged
/// (the store falls back to the previous generation), none crashes, whatever metadata loads
/// names only canonical uuids, and an SR loads whatever its intent says.
@Suite struct RecordFuzzTests {
    static let tokens: [[UInt8]] = [
        "\"", "{", "}", "[", "]", ":", ",", "null", "true", "-1", "1e400", "18446744073709551616", "\"../x\"",
        "\"parent\"", "\"vdis\"", "\"uuid\"", "\\u0000", "中", "0",
    ].map { Array($0.utf8) }

    static func mutate(_ bytes: inout [UInt8], using generator: inout SplitMix64) {
        guard !bytes.isEmpty else { return }
        let position = Int.random(in: 0..<bytes.count, using: &generator)
        switch Int.random(in: 0..<4, using: &generator) {
        case 0: bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
        case 1: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...24, using: &generator)))
        case 2: bytes.insert(contentsOf: tokens[Int.random(in: 0..<tokens.count, using: &generator)], at: position)
        default: bytes[position] = UInt8.random(in: 0x20...0x7E, using: &generator)
        }
    }

    /// A checksummed record's payload: what follows its header line.
    static func payload(of record: [UInt8]) -> [UInt8] {
        Array(record.split(separator: UInt8(ascii: "\n"), maxSplits: 1)[1])
    }

    /// `payload` mutated one to three times and sealed again with a valid checksum, so what is
    /// exercised is the decoding behind the checksum.
    static func resealed(
        _ payload: [UInt8], format: String, version: Int, using generator: inout SplitMix64
    ) -> [UInt8] {
        var mutated = payload
        for _ in 0..<Int.random(in: 1...3, using: &generator) { mutate(&mutated, using: &generator) }
        return ChecksummedRecord.encode(mutated, format: format, version: version)
    }

    static func sample() throws -> SRMetadata {
        var metadata = SRMetadata(sr: SRRecord(uuid: Identifier.newUUID(), nameLabel: "fuzz", type: "ext"))
        let base = Identifier.newUUID()
        metadata.vdis[base] = VDIRecord(uuid: base, nameLabel: "base copy", virtualSize: 8 << 20, hidden: true)
        for index in 0..<3 {
            let uuid = Identifier.newUUID()
            metadata.vdis[uuid] = VDIRecord(uuid: uuid, nameLabel: "disk \(index)", virtualSize: 8 << 20, parent: base)
        }
        metadata.committedIntents = ["intent-1"]
        return metadata
    }

    @Test func threeThousandMutatedMetadataGenerationsNeverCrash() throws {
        let good = try Self.sample()
        let payload = Self.payload(of: try SRMetadataStore.encode(good))
        var generator = SplitMix64(seed: 0x5EED_3E7A)
        var loadedMutated = 0
        for _ in 0..<3_000 {
            let medium = MemoryMetadataMedium()
            try medium.write(try SRMetadataStore.encode(good), to: .previous)
            let bytes = Self.resealed(
                payload, format: SRMetadataStore.recordFormat, version: SRMetadataStore.recordVersion, using: &generator)
            try medium.write(bytes, to: .current)
            guard let loaded = try? SRMetadataStore(medium: medium).loadReportingFallback() else {
                Issue.record("a damaged current generation must fall back to the intact previous one")
                continue
            }
            if loaded.slot == .current { loadedMutated += 1 }
            #expect(SRMetadataStore.defect(of: loaded.metadata) == nil)
        }
        #expect(loadedMutated > 0, "some mutations (in names, sizes) still decode")
    }

    @Test func threeThousandMutatedIntentsNeverCrash() throws {
        let directory = try TemporaryDirectory(prefix: "intents")
        let journal = IntentJournal(directory: directory.path)
        let intent = Intent(
            id: "fuzz", kind: "snapshot", vdiUUID: Identifier.newUUID(),
            parameters: ["base": Identifier.newUUID(), "clone": "", "volume": "x.vhd"])
        try journal.begin(intent)
        let record = try #require(FileManager.default.contents(atPath: journal.path(for: "fuzz")))
        let payload = Self.payload(of: Array(record))
        var generator = SplitMix64(seed: 0x5EED_1A7E)
        for _ in 0..<3_000 {
            let bytes = Self.resealed(
                payload, format: IntentJournal.recordFormat, version: IntentJournal.recordVersion, using: &generator)
            try Data(bytes).write(to: URL(fileURLWithPath: journal.path(for: "fuzz")))
            let pending = try journal.pending()
            #expect(pending.intents.count + pending.problems.count == 1)
            for found in pending.intents {
                #expect(Intent.isValidID(found.id))
            }
        }
    }

    @Test func aLoadSurvivesAnyMutatedIntent() throws {
        let sr = try TestSR()
        let vdi = try sr.engine.createVDI(.init(size: 8 << 20))
        let intent = Intent(
            id: "fuzz", kind: "snapshot", vdiUUID: vdi.uuid,
            parameters: ["base": Identifier.newUUID(), "clone": Identifier.newUUID(), "volume": vdi.uuid + ".vhd"])
        try sr.engine.journal.begin(intent)
        let path = sr.engine.journal.path(for: "fuzz")
        let record = try #require(FileManager.default.contents(atPath: path))
        let payload = Self.payload(of: Array(record))
        var generator = SplitMix64(seed: 0x5EED_10AD)
        for _ in 0..<300 {
            let bytes = Self.resealed(
                payload, format: IntentJournal.recordFormat, version: IntentJournal.recordVersion, using: &generator)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let loaded = try sr.reload()
            #expect(try sr.read(vdi.uuid, 0..<512, engine: loaded) == [UInt8](repeating: 0, count: 512))
        }
    }
}
