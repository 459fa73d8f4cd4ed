#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The SR's intent journal: one checksummed record per unfinished multi-step operation,
/// `.intent-<id>.json`, on the `RecordMedium` the SR's container provides (files in the SR's
/// directory), kept inside the SR so recovery happens wherever the SR is next loaded.
///
/// Every write is atomic and durable (on a directory: a temporary file, `fsync`, `rename`,
/// `fsync` of the directory), so a record is either the old or the new one; each
/// record carries a CRC-32 of its payload, so a torn or damaged record is reported by
/// `pending()` rather than acted on. Callers serialise use per SR (the SR lock).
///
/// ```swift
/// let intent = try journal.begin(Intent(kind: "snapshot", vdiUUID: vdi, parameters: ["base": base]))
/// try journal.update(intent.id, step: "base-linked")
/// try journal.complete(intent.id)
/// ```
public struct IntentJournal: Sendable {
    /// The header's `format` field of an intent record.
    public static let recordFormat = "swift-sm-intent"
    /// The record layout version this code writes and the newest it reads.
    public static let recordVersion = 1
    /// Intent files are `.intent-<id>.json`.
    public static let filePrefix = ".intent-"
    public static let fileSuffix = ".json"
    /// The largest record read: an intent is a few hundred bytes, so anything near this is not one.
    public static let maximumRecordSize = 1 << 20

    /// A record `pending()` could not use, and why.
    public struct Problem: Hashable, Sendable, CustomStringConvertible {
        /// The record's file name inside the journal directory.
        public var file: String
        /// The intent id the file name carries.
        public var id: String
        /// What is wrong (torn, checksum mismatch, undecodable, …).
        public var reason: String

        public var description: String { "\(file): \(reason)" }
    }

    /// The journal's content: usable intents, oldest first, and the records it could not use.
    public struct Pending: Hashable, Sendable {
        public var intents: [Intent]
        public var problems: [Problem]
    }

    /// Where the records live (the SR's directory, or what its container provides).
    public let records: any RecordMedium

    /// A journal on `records`.
    public init(records: any RecordMedium) {
        self.records = records
    }

    /// A journal in `directory`, which must exist.
    public init(directory: String) {
        self.init(records: DirectoryRecordMedium(directory: directory))
    }

    /// The medium's name: the directory of a directory journal.
    public var directory: String { records.name }

    /// The record name of intent `id`.
    static func recordName(for id: String) -> String { "\(filePrefix)\(id)\(fileSuffix)" }

    /// The file that holds intent `id`, on a directory medium (its name, on another).
    public func path(for id: String) -> String {
        "\(records.name)/\(Self.recordName(for: id))"
    }

    /// Records `intent` durably before its operation starts.
    ///
    /// - Returns: The intent as recorded.
    /// - Throws: `SRError(.invalidArg)` for an id that cannot name a file, `SRError(.smGeneral)`
    ///   when an intent with that id is already recorded, or the write's error (`SRNoSpace`,
    ///   `SharedFileSystemNoWrite`, `EIO`).
    @discardableResult
    public func begin(_ intent: Intent) throws(SRError) -> Intent {
        try Self.validate(intent.id)
        guard try records.read(Self.recordName(for: intent.id), limit: Self.maximumRecordSize) == nil else {
            throw SRError(.smGeneral, opterr: "intent \(intent.id) is already recorded in \(directory)")
        }
        try write(intent)
        return intent
    }

    /// Records that intent `id` reached `step`, replacing the record atomically.
    ///
    /// - Parameters:
    ///   - parameters: When given, replace the intent's parameters too.
    /// - Returns: The intent as now recorded.
    /// - Throws: `SRError(.smGeneral)` when no intact record of `id` exists, or the write's error.
    @discardableResult
    public func update(_ id: String, step: String, parameters: [String: String]? = nil) throws(SRError) -> Intent {
        try Self.validate(id)
        var intent = try read(id)
        intent.step = step
        if let parameters { intent.parameters = parameters }
        try write(intent)
        return intent
    }

    /// The recorded intent `id`.
    ///
    /// - Throws: `SRError(.smGeneral)` when it is absent, damaged or undecodable.
    public func read(_ id: String) throws(SRError) -> Intent {
        try Self.validate(id)
        let path = path(for: id)
        guard
            let bytes = try records.read(Self.recordName(for: id), limit: Self.maximumRecordSize)?
                .bytes(of: path, code: .smGeneral)
        else {
            throw SRError(.smGeneral, opterr: "no intent \(id) in \(directory)")
        }
        switch Self.decode(bytes) {
        case .success(let intent) where intent.id == id: return intent
        case .success(let intent): throw SRError(.smGeneral, opterr: "\(path) holds intent \(intent.id), not \(id)")
        case .failure(let reason): throw SRError(.smGeneral, opterr: "\(path): \(reason)")
        }
    }

    /// Removes intent `id` once its operation is finished or undone (also a damaged record).
    ///
    /// - Returns: Whether a record was removed (false when none existed).
    @discardableResult
    public func complete(_ id: String) throws(SRError) -> Bool {
        try Self.validate(id)
        return try records.remove(Self.recordName(for: id))
    }

    /// Every recorded intent, oldest first (ties by id), and every record that is damaged,
    /// undecodable or filed under another id. Temporary files of interrupted writes are
    /// ignored: the rename that would have made them a record never happened.
    public func pending() throws(SRError) -> Pending {
        var intents: [Intent] = []
        var problems: [Problem] = []
        for name in try records.names().sorted() {
            guard let id = Self.intentID(fromFileName: name) else { continue }
            let bytes: [UInt8]
            do {
                guard
                    let read = try records.read(name, limit: Self.maximumRecordSize)?
                        .bytes(of: "\(records.name)/\(name)", code: .smGeneral)
                else { continue }
                bytes = read
            } catch {
                problems.append(Problem(file: name, id: id, reason: error.faultString))
                continue
            }
            switch Self.decode(bytes) {
            case .success(let intent) where intent.id == id:
                intents.append(intent)
            case .success(let intent):
                problems.append(Problem(file: name, id: id, reason: "holds intent \(intent.id), not \(id)"))
            case .failure(let reason):
                problems.append(Problem(file: name, id: id, reason: reason.description))
            }
        }
        intents.sort { ($0.created, $0.id) < ($1.created, $1.id) }
        return Pending(intents: intents, problems: problems)
    }

    /// Removes the temporary files interrupted writes left behind.
    ///
    /// - Returns: The names removed.
    @discardableResult
    public func removeTemporaryFiles() throws(SRError) -> [String] {
        let prefix = Self.filePrefix
        let stale = try records.names().filter { $0.hasPrefix(prefix) && $0.contains(DurableFile.temporaryMarker) }
        for name in stale { try records.remove(name) }
        return stale.sorted()
    }

    // MARK: Encoding

    private func write(_ intent: Intent) throws(SRError) {
        let payload: [UInt8]
        do {
            payload = Array(try Self.encoder.encode(intent))
        } catch {
            throw SRError(.smGeneral, opterr: "cannot encode intent \(intent.id): \(error)")
        }
        let bytes = ChecksummedRecord.encode(payload, format: Self.recordFormat, version: Self.recordVersion)
        guard bytes.count <= Self.maximumRecordSize else {
            throw SRError(.smGeneral, opterr: "intent \(intent.id) would be \(bytes.count) bytes, more than a record may be")
        }
        try records.replace(Self.recordName(for: intent.id), with: bytes)
    }

    private enum DecodeFailure: Error, CustomStringConvertible {
        case record(ChecksummedRecord.Defect)
        case payload(String)

        var description: String {
            switch self {
            case .record(let defect): return defect.description
            case .payload(let message): return "undecodable intent: \(message)"
            }
        }
    }

    private static func decode(_ bytes: [UInt8]) -> Result<Intent, DecodeFailure> {
        let payload: ArraySlice<UInt8>
        do {
            payload = try ChecksummedRecord.decode(bytes, format: recordFormat, supportedVersion: recordVersion).payload
        } catch {
            return .failure(.record(error))
        }
        do {
            return .success(try JSONDecoder().decode(Intent.self, from: Data(payload)))
        } catch {
            return .failure(.payload("\(error)"))
        }
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The id in an intent file name, or nil when `name` is not an intent record.
    static func intentID(fromFileName name: String) -> String? {
        guard name.hasPrefix(filePrefix), name.hasSuffix(fileSuffix), !name.contains(DurableFile.temporaryMarker)
        else { return nil }
        let id = String(name.dropFirst(filePrefix.count).dropLast(fileSuffix.count))
        return id.isEmpty ? nil : id
    }

    private static func validate(_ id: String) throws(SRError) {
        guard Intent.isValidID(id) else {
            throw SRError(
                .invalidArg, opterr: "invalid intent id \(id.debugDescription): use 1-128 letters, digits, '-' or '_'")
        }
    }
}
