import Synchronization

/// One of the two places a medium keeps SR metadata: the generation in use and the one before
/// it, kept so a damaged current generation can fall back.
public enum MetadataSlot: String, Hashable, Sendable, CaseIterable {
    case current
    case previous
}

/// Where an SR keeps its metadata blob: whole byte strings in two slots. The store decides
/// what the bytes mean and checks them; a medium only keeps them.
///
/// File SRs use `FileMetadataMedium` (two files in the SR's directory); the LVM driver keeps
/// the slots in a metadata volume; tests use `MemoryMetadataMedium`.
///
/// Contract: `write` is durable when it returns. It need not be atomic (a volume cannot
/// rename): `SRMetadataStore` keeps the last good generation in `.previous` before it
/// overwrites `.current`, and checksums tell a torn write from a whole one.
public protocol MetadataMedium: Sendable {
    /// Names the medium in messages (a path, a volume).
    var name: String { get }
    /// The bytes in `slot`, or nil when the slot was never written; when it holds more than
    /// `limit` bytes, only its size (nothing of that size is read or allocated).
    func read(_ slot: MetadataSlot, limit: Int) throws(SRError) -> BoundedRead?
    /// Replaces the bytes in `slot`, durably.
    func write(_ bytes: [UInt8], to slot: MetadataSlot) throws(SRError)
}

/// SR metadata in two files of a directory: `sm-metadata.json` (current) and
/// `sm-metadata.json.prev` (previous), each replaced atomically and durably (temporary file,
/// `fsync`, `rename`, `fsync` of the directory).
public struct FileMetadataMedium: MetadataMedium {
    /// The current generation's file name.
    public static let fileName = "sm-metadata.json"
    /// The previous generation's file name.
    public static let previousFileName = "sm-metadata.json.prev"

    /// The directory (the SR's) that holds the files; it must exist.
    public let directory: String

    public init(directory: String) {
        self.directory = LockDirectory.normalised(directory)
    }

    public var name: String { path(of: .current) }

    /// The file that holds `slot`.
    public func path(of slot: MetadataSlot) -> String {
        switch slot {
        case .current: return "\(directory)/\(Self.fileName)"
        case .previous: return "\(directory)/\(Self.previousFileName)"
        }
    }

    public func read(_ slot: MetadataSlot, limit: Int) throws(SRError) -> BoundedRead? {
        try DurableFile.read(path(of: slot), limit: limit)
    }

    public func write(_ bytes: [UInt8], to slot: MetadataSlot) throws(SRError) {
        try DurableFile.replace(path(of: slot), with: bytes)
    }
}

extension MetadataMedium {
    /// The bytes in `slot` up to `SRMetadataStore.maximumRecordSize`, or nil when never written.
    public func read(_ slot: MetadataSlot) throws(SRError) -> [UInt8]? {
        try read(slot, limit: SRMetadataStore.maximumRecordSize)?.bytes(of: "\(name) (\(slot))", code: .metadataError)
    }
}

/// SR metadata in memory, for tests: the two slots, and a count of writes.
///
/// Locking: `slots` (a `Mutex`) guards the bytes.
public final class MemoryMetadataMedium: MetadataMedium {
    private let slots = Mutex<[MetadataSlot: [UInt8]]>([:])
    private let writes = Atomic<Int>(0)

    public let name: String

    public init(name: String = "memory") {
        self.name = name
    }

    /// How many writes the medium has taken.
    public var writeCount: Int { writes.load(ordering: .relaxed) }

    public func read(_ slot: MetadataSlot, limit: Int) throws(SRError) -> BoundedRead? {
        slots.withLock { $0[slot] }.map { $0.count > limit ? .oversized(size: UInt64($0.count), limit: limit) : .bytes($0) }
    }

    public func write(_ bytes: [UInt8], to slot: MetadataSlot) throws(SRError) {
        slots.withLock { $0[slot] = bytes }
        writes.add(1, ordering: .relaxed)
    }

    /// Empties `slot`, as if it had never been written.
    public func erase(_ slot: MetadataSlot) {
        slots.withLock { $0[slot] = nil }
    }
}
