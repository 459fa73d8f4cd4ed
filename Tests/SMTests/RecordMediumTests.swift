import Foundation
import TestSupport
import Testing

@testable import SM

/// The record media a container provides keep the same contract, so the journal and the
/// metadata behave the same on each.
@Suite struct RecordMediumTests {
    enum Kind: String, CaseIterable, Sendable { case directory, memory, logicalVolume }

    static func medium(_ kind: Kind, in directory: TemporaryDirectory) -> any RecordMedium {
        switch kind {
        case .directory: return DirectoryRecordMedium(directory: directory.path)
        case .memory: return MemoryRecordMedium()
        case .logicalVolume: return MemoryVolumeContainer(semantics: .logicalVolumes).records
        }
    }

    @Test(arguments: Kind.allCases)
    func recordsRoundTripAreBoundedAndRemoved(kind: Kind) throws {
        let directory = try TemporaryDirectory(prefix: "records")
        let records = Self.medium(kind, in: directory)
        #expect(try records.read("a", limit: 16) == nil)
        try records.replace("a", with: [1, 2, 3])
        try records.replace("a", with: [4, 5])
        try records.replace("b", with: [UInt8](repeating: 9, count: 100))
        #expect(try records.read("a", limit: 16) == .bytes([4, 5]))
        #expect(try records.read("b", limit: 16) == .oversized(size: 100, limit: 16))
        #expect(Set(try records.names()) == ["a", "b"])
        #expect(try records.remove("a"))
        #expect(try !records.remove("a"))
        #expect(try records.names() == ["b"])
    }

    @Test(arguments: Kind.allCases)
    func theJournalAndTheMetadataLiveOnAnyMedium(kind: Kind) throws {
        let directory = try TemporaryDirectory(prefix: "records")
        let records = Self.medium(kind, in: directory)
        let journal = IntentJournal(records: records)
        let intent = try journal.begin(Intent(kind: "snapshot", vdiUUID: Identifier.newUUID(), parameters: ["base": "x"]))
        try journal.update(intent.id, step: "linked")
        #expect(try journal.pending().intents.map(\.step) == ["linked"])
        // A damaged record is reported, never acted on.
        let name = IntentJournal.recordName(for: intent.id)
        var bytes = try #require(try records.read(name, limit: 1 << 20).flatMap { if case .bytes(let b) = $0 { b } else { nil } })
        bytes[bytes.count - 2] ^= 0xff
        try records.replace(name, with: bytes)
        #expect(try journal.pending().problems.map(\.id) == [intent.id])
        #expect(try journal.complete(intent.id))
        #expect(try journal.pending() == IntentJournal.Pending(intents: [], problems: []))

        let store = SRMetadataStore(medium: RecordMetadataMedium(records: records))
        let metadata = SRMetadata(sr: SRRecord(uuid: Identifier.newUUID(), nameLabel: "on \(kind)", type: "ext"))
        try store.save(metadata)
        #expect(try store.load() == metadata)
        switch kind {
        case .directory:
            // The same files a file SR has always had.
            #expect(FileManager.default.fileExists(atPath: directory.path(for: FileMetadataMedium.fileName)))
            #expect(try FileMetadataMedium(directory: directory.path).read(.current) != nil)
        case .logicalVolume:
            // One volume of the container holds them, in whole extents.
            let container = try #require((records as? VolumeRecordMedium)?.volume as? ContainerRecordVolume).container
            #expect(try container.list().map(\.name) == [VolumeNaming.records])
            #expect(try container.open(VolumeNaming.records, writable: false).size == 4 << 20)
        case .memory: break
        }
    }
}
