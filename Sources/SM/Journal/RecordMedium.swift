import Synchronization

/// Where an SR keeps its small records (the intent journal's, and the metadata's): named byte
/// strings, each replaced atomically and durably. The container provides it (`VolumeContainer.records`),
/// so a journal lives wherever the SR does: files in an SR directory, memory in tests, and for
/// the drivers to come a file on an NFS export or a small metadata volume in a VG.
public protocol RecordMedium: Sendable {
    /// Names the medium in messages (a directory, a volume).
    var name: String { get }
    /// The names of every record (in no order); temporary names of interrupted writes may be
    /// among them.
    func names() throws(SRError) -> [String]
    /// The bytes of `record`, nil when there is none; only its size when over `limit`.
    func read(_ record: String, limit: Int) throws(SRError) -> BoundedRead?
    /// Replaces `record` with `bytes`, atomically and durably when it returns.
    func replace(_ record: String, with bytes: [UInt8]) throws(SRError)
    /// Removes `record`, durably; false when there was none.
    @discardableResult
    func remove(_ record: String) throws(SRError) -> Bool
}

/// Records as files of one directory, written by `DurableFile` (temporary file, `fsync`,
/// `rename`, `fsync` of the directory): the layout of file SRs.
public struct DirectoryRecordMedium: RecordMedium {
    public let directory: String

    public init(directory: String) {
        self.directory = LockDirectory.normalised(directory)
    }

    public var name: String { directory }

    /// The file that holds `record`.
    public func path(of record: String) -> String { "\(directory)/\(record)" }

    public func names() throws(SRError) -> [String] { try SystemCall.directoryEntries(directory) ?? [] }

    public func read(_ record: String, limit: Int) throws(SRError) -> BoundedRead? {
        try DurableFile.read(path(of: record), limit: limit)
    }

    public func replace(_ record: String, with bytes: [UInt8]) throws(SRError) {
        try DurableFile.replace(path(of: record), with: bytes)
    }

    @discardableResult
    public func remove(_ record: String) throws(SRError) -> Bool { try DurableFile.remove(path(of: record)) }
}

/// Records in memory: the medium of in-memory containers, copied with them by a snapshot.
///
/// Locking: `records` (a `Mutex`) guards the map.
public final class MemoryRecordMedium: RecordMedium {
    public let name: String
    private let records: Mutex<[String: [UInt8]]>

    public init(name: String = "memory", records: [String: [UInt8]] = [:]) {
        self.name = name
        self.records = Mutex(records)
    }

    /// An independent copy of every record as it is now.
    public func copy() -> MemoryRecordMedium {
        MemoryRecordMedium(name: name, records: records.withLock { $0 })
    }

    public func names() throws(SRError) -> [String] { records.withLock { Array($0.keys) } }

    public func read(_ record: String, limit: Int) throws(SRError) -> BoundedRead? {
        records.withLock { $0[record] }.map { $0.count > limit ? .oversized(size: UInt64($0.count), limit: limit) : .bytes($0) }
    }

    public func replace(_ record: String, with bytes: [UInt8]) throws(SRError) {
        records.withLock { $0[record] = bytes }
    }

    @discardableResult
    public func remove(_ record: String) throws(SRError) -> Bool {
        records.withLock { $0.removeValue(forKey: record) != nil }
    }
}

/// SR metadata as two records of a `RecordMedium`, named as file SRs name their files.
public struct RecordMetadataMedium: MetadataMedium {
    public let records: any RecordMedium

    public init(records: any RecordMedium) { self.records = records }

    public var name: String { "\(records.name)/\(FileMetadataMedium.fileName)" }

    static func record(of slot: MetadataSlot) -> String {
        slot == .current ? FileMetadataMedium.fileName : FileMetadataMedium.previousFileName
    }

    public func read(_ slot: MetadataSlot, limit: Int) throws(SRError) -> BoundedRead? {
        try records.read(Self.record(of: slot), limit: limit)
    }

    public func write(_ bytes: [UInt8], to slot: MetadataSlot) throws(SRError) {
        try records.replace(Self.record(of: slot), with: bytes)
    }
}
