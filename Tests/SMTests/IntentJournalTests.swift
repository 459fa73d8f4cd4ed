import Foundation
import TestSupport
import Testing

@testable import SM

@Suite struct IntentJournalTests {
    let directory: TemporaryDirectory
    let journal: IntentJournal

    init() throws {
        directory = try TemporaryDirectory()
        journal = IntentJournal(directory: directory.path)
    }

    func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    @Test func beginUpdateCompleteLifecycle() throws {
        let vdi = Identifier.newUUID()
        let intent = try journal.begin(
            Intent(id: "op1", kind: "snapshot", vdiUUID: vdi, parameters: ["base": "b", "leaf": "l"]))
        #expect(try files() == [".intent-op1.json"])
        #expect(try journal.pending() == .init(intents: [intent], problems: []))
        let updated = try journal.update("op1", step: "base-linked")
        #expect(updated.step == "base-linked" && updated.parameters == intent.parameters)
        let reparametrised = try journal.update("op1", step: "leaf-created", parameters: ["base": "b2"])
        #expect(reparametrised.parameters == ["base": "b2"])
        #expect(try journal.read("op1") == reparametrised)
        #expect(try journal.pending().intents == [reparametrised])
        #expect(try journal.complete("op1"))
        #expect(try !journal.complete("op1"))
        #expect(try files().isEmpty)
        #expect(try journal.pending() == .init(intents: [], problems: []))
    }

    @Test func recordIsAHeaderLineWithChecksumThenSortedJSON() throws {
        let intent = Intent(
            id: "op2", kind: "resize", vdiUUID: "v", parameters: ["new": "2", "old": "1"],
            created: Date(timeIntervalSinceReferenceDate: 1000), step: "begun")
        try journal.begin(intent)
        let bytes = try #require(FileManager.default.contents(atPath: journal.path(for: "op2")))
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(separator: "\n", maxSplits: 1).map(String.init)
        let payload =
            #"{"created":1000,"id":"op2","kind":"resize","parameters":{"new":"2","old":"1"},"step":"begun","vdi_uuid":"v"}"#
        #expect(lines[1] == payload)
        let crc = ChecksummedRecord.hex(CRC32.checksum(payload))
        #expect(
            lines[0] == #"{"crc32":"\#(crc)","format":"swift-sm-intent","length":\#(payload.utf8.count),"version":1}"#)
    }

    @Test func pendingListsIntentsOldestFirst() throws {
        let base = Date(timeIntervalSinceReferenceDate: 800_000_000)
        try journal.begin(Intent(id: "c", kind: "clone", vdiUUID: "v", created: base.addingTimeInterval(2)))
        try journal.begin(Intent(id: "a", kind: "resize", vdiUUID: "v", created: base.addingTimeInterval(3)))
        try journal.begin(Intent(id: "b", kind: "revert", vdiUUID: "v", created: base))
        try journal.begin(Intent(id: "d", kind: "revert", vdiUUID: "v", created: base))
        #expect(try journal.pending().intents.map(\.id) == ["b", "d", "c", "a"])
    }

    @Test func aTornTemporaryFileIsIgnoredAndCanBeRemoved() throws {
        let intent = try journal.begin(Intent(id: "op3", kind: "clone", vdiUUID: "v"))
        // A crash between writing the temporary file and renaming it: a partial record.
        let torn = directory.path(for: ".intent-op3.json.tmp-999-123")
        _ = FileManager.default.createFile(atPath: torn, contents: Data(#"{"crc32":"00000000","format":"swi"#.utf8))
        _ = FileManager.default.createFile(
            atPath: directory.path(for: ".intent-op4.json.tmp-999-456"), contents: Data())
        let pending = try journal.pending()
        #expect(pending.intents == [intent])
        #expect(pending.problems.isEmpty)
        #expect(try journal.removeTemporaryFiles() == [".intent-op3.json.tmp-999-123", ".intent-op4.json.tmp-999-456"])
        #expect(try files() == [".intent-op3.json"])
    }

    @Test func aCorruptedRecordIsReportedNotActedOn() throws {
        try journal.begin(Intent(id: "good", kind: "snapshot", vdiUUID: "v"))
        try journal.begin(Intent(id: "flipped", kind: "snapshot", vdiUUID: "v", parameters: ["k": "value"]))
        try journal.begin(Intent(id: "short", kind: "snapshot", vdiUUID: "v"))
        var flipped = try #require(FileManager.default.contents(atPath: journal.path(for: "flipped")))
        let index = try #require(flipped.lastIndex(of: UInt8(ascii: "v")))
        flipped[index] = UInt8(ascii: "w")
        try flipped.write(to: URL(fileURLWithPath: journal.path(for: "flipped")))
        let short = try #require(FileManager.default.contents(atPath: journal.path(for: "short")))
        try short.prefix(short.count - 7).write(to: URL(fileURLWithPath: journal.path(for: "short")))
        _ = FileManager.default.createFile(atPath: journal.path(for: "garbage"), contents: Data("not a record".utf8))
        _ = FileManager.default.createFile(atPath: journal.path(for: "empty"), contents: Data())

        let pending = try journal.pending()
        #expect(pending.intents.map(\.id) == ["good"])
        let problems = Dictionary(uniqueKeysWithValues: pending.problems.map { ($0.id, $0.reason) })
        #expect(problems.keys.sorted() == ["empty", "flipped", "garbage", "short"])
        #expect(problems["flipped"]?.contains("checksum mismatch") == true)
        #expect(problems["short"]?.contains("torn write") == true)
        #expect(problems["garbage"]?.contains("no header") == true)
        #expect(problems["empty"]?.contains("empty") == true)
        #expect(throws: SRError.self) { try journal.update("flipped", step: "x") }
        #expect(try journal.complete("flipped"))
    }

    @Test func aRecordFiledUnderAnotherIdIsAProblem() throws {
        try journal.begin(Intent(id: "one", kind: "clone", vdiUUID: "v"))
        try FileManager.default.moveItem(atPath: journal.path(for: "one"), toPath: journal.path(for: "two"))
        let pending = try journal.pending()
        #expect(pending.intents.isEmpty)
        #expect(pending.problems.map(\.id) == ["two"])
    }

    @Test func beginRefusesADuplicateAndHostileIds() throws {
        try journal.begin(Intent(id: "dup", kind: "clone", vdiUUID: "v"))
        let duplicate = try #require(throws: SRError.self) {
            try journal.begin(Intent(id: "dup", kind: "clone", vdiUUID: "v"))
        }
        #expect(duplicate.code.number == 202 /* SMGeneral */)
        for id in ["", "../x", "a/b", "a.b", "x\u{0}", String(repeating: "a", count: 129)] {
            let error = try #require(throws: SRError.self) {
                try journal.begin(Intent(id: id, kind: "clone", vdiUUID: "v"))
            }
            #expect(error.code.number == 1 /* InvalidArg */)
        }
        #expect(throws: SRError.self) { try journal.update("missing", step: "x") }
        #expect(try files() == [".intent-dup.json"])
    }

    @Test func unicodeAndSpecialCharactersInParametersRoundTrip() throws {
        let intent = Intent(
            kind: "clone", vdiUUID: "v", parameters: ["label": "Système \u{1F4BE} \"q\" \\ \n\t\u{0}", "ключ": "值"])
        try journal.begin(intent)
        #expect(try journal.pending().intents == [intent])
    }

    @Test func aMissingDirectoryIsAnErrorForWritesAndEmptyForReads() throws {
        let missing = IntentJournal(directory: directory.path(for: "nope"))
        #expect(try missing.pending() == .init(intents: [], problems: []))
        let error = try #require(throws: SRError.self) { try missing.begin(Intent(kind: "clone", vdiUUID: "v")) }
        #expect(error.code.number == 200 /* EIO */)
    }
}
