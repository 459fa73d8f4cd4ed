import BlockIO
import Glibc
import Synchronization
import VHD

/// Volumes in memory, with the semantics of either kind of real container: files in a
/// directory (growing, hard links, no tags, `<uuid>.vhd`) or LVs in a VG (fixed size in
/// extents, no links, renames that never replace, tags, `VHD-<uuid>`). The engine's tests run
/// over both, as swift-nio's run over `EmbeddedChannel`; `snapshot()` copies the whole
/// container at an instant, which is what a crash leaves.
///
/// Locking: `state` (a `Mutex`) guards the names and tags; each volume's bytes have their own lock.
public final class MemoryVolumeContainer: VolumeContainer {
    /// What kind of real container this one behaves as.
    public struct Semantics: Hashable, Sendable {
        public var provisioning: VolumeProvisioning
        public var links: Bool
        public var tags: Bool
        public var naming: VDIVolumeNaming
        /// Whether the SR's records are kept in a volume (`VolumeRecordMedium`), as a VG keeps
        /// them, rather than beside the volumes, as a directory does.
        public var recordsInVolume: Bool

        public init(
            provisioning: VolumeProvisioning, links: Bool, tags: Bool, naming: VDIVolumeNaming, recordsInVolume: Bool
        ) {
            self.provisioning = provisioning
            self.links = links
            self.tags = tags
            self.naming = naming
            self.recordsInVolume = recordsInVolume
        }

        /// A directory of sparse files (ext, nfs).
        public static let files = Semantics(
            provisioning: .growOnWrite, links: true, tags: false, naming: .files, recordsInVolume: false)
        /// A VG of LVs in 4 MiB extents (lvm, lvmoiscsi: LVM's default extent size).
        public static let logicalVolumes = Semantics(
            provisioning: .fixed(unit: 4 << 20), links: false, tags: true, naming: .logicalVolumes,
            recordsInVolume: true)
    }

    private struct Entry {
        var volume: MemoryVolume
        var tags: Set<String>
    }

    public let name: String
    public let semantics: Semantics
    /// The records of a container with file semantics.
    private let memoryRecords: MemoryRecordMedium
    /// Serialises writers of the records volume of a container with LV semantics.
    private let recordLock = VolumeRecordMedium.Lock()
    private let budget: MemorySpace
    private let state: Mutex<[String: Entry]>

    /// An empty container with room for `capacity` bytes.
    public init(name: String = "memory", semantics: Semantics, capacity: UInt64 = 1 << 40) {
        self.name = name
        self.semantics = semantics
        self.budget = MemorySpace(total: capacity)
        self.memoryRecords = MemoryRecordMedium(name: name)
        self.state = Mutex([:])
    }

    private init(
        name: String, semantics: Semantics, space: MemorySpace, records: MemoryRecordMedium, entries: [String: Entry]
    ) {
        self.name = name
        self.semantics = semantics
        self.memoryRecords = records
        self.budget = space
        self.state = Mutex(entries)
    }

    public var provisioning: VolumeProvisioning { semantics.provisioning }
    public var supportsLinks: Bool { semantics.links }
    public var supportsTags: Bool { semantics.tags }
    public var naming: VDIVolumeNaming { semantics.naming }
    public var records: any RecordMedium {
        semantics.recordsInVolume
            ? VolumeRecordMedium(volume: ContainerRecordVolume(container: self), lock: recordLock) : memoryRecords
    }
    public var parentResolver: any ParentResolver { ContainerParentResolver(container: self) }
    public var backingDevice: UInt64? { nil }

    /// An independent copy of every volume, name and record as they are now: what a crash at
    /// this instant would leave for the next load.
    public func snapshot() -> MemoryVolumeContainer {
        state.withLock { entries in
            let space = MemorySpace(total: budget.total, used: budget.total - budget.free)
            var copies: [ObjectIdentifier: MemoryVolume] = [:]
            let copied = entries.mapValues { entry in
                let id = ObjectIdentifier(entry.volume)
                let volume = copies[id] ?? entry.volume.copy(into: space)
                copies[id] = volume
                return Entry(volume: volume, tags: entry.tags)
            }
            return MemoryVolumeContainer(
                name: name, semantics: semantics, space: space, records: memoryRecords.copy(), entries: copied)
        }
    }

    /// Refuses names a real container of this kind refuses: a path component for files; for
    /// LVs, LVM's rule (`[A-Za-z0-9+_.-]`, no leading `-`, at most 127 bytes).
    private func check(_ volume: String) throws(VolumeError) {
        let valid: Bool
        if semantics.provisioning == .growOnWrite {
            valid = !volume.isEmpty && !volume.contains("/") && volume != "." && volume != ".."
                && !volume.utf8.contains(0) && volume.utf8.count < 256
        } else {
            valid = !volume.isEmpty && volume.utf8.count <= 127 && !volume.hasPrefix("-") && volume != "." && volume != ".."
                && volume.utf8.allSatisfy { byte in
                    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                        || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                        || byte == UInt8(ascii: "-")
                }
        }
        guard valid else { throw .invalidName(volume) }
    }

    private func entry(_ volume: String) throws(VolumeError) -> Entry {
        try check(volume)
        guard let entry = state.withLock({ $0[volume] }) else { throw .notFound(container: name, volume: volume) }
        return entry
    }

    public func list() throws(VolumeError) -> [VolumeInfo] {
        state.withLock { entries in
            entries.map { VolumeInfo(name: $0.key, size: $0.value.volume.size, tags: $0.value.tags) }
                .sorted { $0.name < $1.name }
        }
    }

    public func exists(_ volume: String) -> Bool { state.withLock { $0[volume] != nil } }

    public func create(_ volume: String, size: UInt64, tags: Set<String>) throws(VolumeError) -> any BlockStore {
        try check(volume)
        guard tags.isEmpty || semantics.tags else { throw .unsupported(container: name, operation: "volume tags") }
        let size = provisioning.rounded(size)
        let created: MemoryVolume = try state.withLock { (entries) throws(VolumeError) in
            guard entries[volume] == nil else { throw .exists(container: name, volume: volume) }
            guard budget.charge(size) else { throw .noSpace(container: name, needed: size) }
            let created = MemoryVolume(
                name: volume, size: size, fixedSize: provisioning != .growOnWrite, space: budget)
            entries[volume] = Entry(volume: created, tags: tags)
            return created
        }
        return MemoryVolumeStore(volume: created, name: volume, readOnly: false)
    }

    public func open(_ volume: String, writable: Bool) throws(VolumeError) -> any BlockStore {
        MemoryVolumeStore(volume: try entry(volume).volume, name: volume, readOnly: !writable)
    }

    public func resize(_ volume: String, to size: UInt64) throws(VolumeError) {
        let target = try entry(volume).volume
        do { try target.resize(to: provisioning.rounded(size), store: volume) } catch {
            if case .system(_, let code, _) = error, code == ENOSPC {
                throw .noSpace(container: name, needed: provisioning.rounded(size) - min(size, target.size))
            }
            throw .io(container: name, volume: volume, error)
        }
    }

    public func rename(_ from: String, to: String) throws(VolumeError) {
        try check(from)
        try check(to)
        try state.withLock { (entries) throws(VolumeError) in
            guard let moving = entries[from] else { throw .notFound(container: name, volume: from) }
            if from == to { return }
            if let replaced = entries[to] {
                // rename(2) of two names of one file changes nothing: both stay.
                if replaced.volume === moving.volume { return }
                guard semantics.links else { throw .exists(container: name, volume: to) }
                release(replaced.volume, from: entries, except: to)
            }
            entries[to] = moving
            entries[from] = nil
        }
    }

    public func link(_ existing: String, as new: String) throws(VolumeError) {
        guard semantics.links else { throw .unsupported(container: name, operation: "hard links") }
        try check(existing)
        try check(new)
        try state.withLock { (entries) throws(VolumeError) in
            guard let source = entries[existing] else { throw .notFound(container: name, volume: existing) }
            guard entries[new] == nil else { throw .exists(container: name, volume: new) }
            entries[new] = source
        }
    }

    public func isSameVolume(_ first: String, _ second: String) -> Bool {
        state.withLock { entries in
            guard let one = entries[first], let two = entries[second] else { return false }
            return one.volume === two.volume
        }
    }

    public func setTags(_ tags: Set<String>, of volume: String) throws(VolumeError) {
        guard semantics.tags else { throw .unsupported(container: name, operation: "volume tags") }
        try check(volume)
        try state.withLock { (entries) throws(VolumeError) in
            guard entries[volume] != nil else { throw .notFound(container: name, volume: volume) }
            entries[volume]?.tags = tags
        }
    }

    public func remove(_ volume: String) throws(VolumeError) {
        try check(volume)
        state.withLock { entries in
            guard let removed = entries[volume] else { return }
            release(removed.volume, from: entries, except: volume)
            entries[volume] = nil
        }
    }

    /// Credits the space of `volume` when `name` was its last name.
    private func release(_ volume: MemoryVolume, from entries: [String: Entry], except name: String) {
        let otherNames = entries.contains { $0.key != name && $0.value.volume === volume }
        if !otherNames { budget.credit(volume.size) }
    }

    public func sync() throws(VolumeError) {}

    public func space() throws(VolumeError) -> (total: UInt64, free: UInt64) { (budget.total, budget.free) }

    public func holds(device: UInt64, inode: UInt64) -> Bool { false }

    public func hostPath(of name: String) -> String? { nil }

    /// `./<name>` among files, as blktap writes it; the bare LV name among LVs.
    public func locatorPath(for volume: String) -> String {
        semantics.provisioning == .growOnWrite ? "./" + volume : volume
    }
}
