import BlockIO
import Synchronization

/// Every record of an SR in one volume, for containers with no files to keep them in (an LV
/// SR's VG): two slots, each the whole record set at one generation (`RecordSlot`). A replace
/// writes the new set into the slot not holding the newest valid one and flushes, so a crash at
/// any instant leaves the newest set whole in one slot or the other; a read takes the valid
/// slot of the highest generation. Slot A is at 0, slot B at half the volume's size.
///
/// Growing never loses the last good copy: when the set outgrows a slot, it is first rewritten
/// into slot A (if the newest is in B), then the volume grows and the new set goes into the new
/// slot B, beyond everything the old layout used. The volume is bounded (`maximumSize`); a set
/// that would not fit is refused with `SRNoSpace` before anything is written.
///
/// Locking: writers in one process share `lock`; writers in different processes hold the SR
/// lock, as every command that changes an SR does. Each call reads the volume afresh, so a
/// reader in another process sees what was last flushed.
public struct VolumeRecordMedium: RecordMedium {
    /// Serialises the read-modify-write of replace and remove within a process.
    public final class Lock: Sendable {
        fileprivate let mutex = Mutex(())
        public init() {}
    }

    /// What one read of the volume found.
    struct Loaded {
        var store: any BlockStore
        var newest: RecordSlot?
        /// What was wrong with each slot that was not taken.
        var defects: [String]
    }

    public let volume: any RecordVolume
    public let lock: Lock
    /// The size of a new volume (two slots).
    public let initialSize: UInt64
    /// The largest the volume may grow to.
    public let maximumSize: UInt64
    private let newMediumID: @Sendable () -> UInt64

    public init(
        volume: any RecordVolume, lock: Lock, initialSize: UInt64 = 1 << 20, maximumSize: UInt64 = 256 << 20,
        newMediumID: @escaping @Sendable () -> UInt64 = { UInt64.random(in: 1...UInt64.max) }
    ) {
        self.volume = volume
        self.lock = lock
        self.initialSize = initialSize
        self.maximumSize = maximumSize
        self.newMediumID = newMediumID
    }

    public var name: String { volume.name }

    public func names() throws(SRError) -> [String] {
        try Array(currentRecords().keys)
    }

    public func read(_ record: String, limit: Int) throws(SRError) -> BoundedRead? {
        try currentRecords()[record].map { $0.count > limit ? .oversized(size: UInt64($0.count), limit: limit) : .bytes($0) }
    }

    public func replace(_ record: String, with bytes: [UInt8]) throws(SRError) {
        guard !record.isEmpty, record.utf8.count <= RecordSlot.maximumNameLength else {
            throw SRError(.metadataError, opterr: "\(name): invalid record name '\(record.prefix(64))'")
        }
        try update { $0[record] = bytes }
    }

    @discardableResult
    public func remove(_ record: String) throws(SRError) -> Bool {
        var removed = false
        try update { removed = $0.removeValue(forKey: record) != nil }
        return removed
    }

    // MARK: Reading

    private func currentRecords() throws(SRError) -> [String: [UInt8]] {
        try lock.mutex.withLock { _ throws(SRError) in try load()?.newest?.records ?? [:] }
    }

    /// Reads both slots and keeps the newest valid one; nil when there is no volume. Throws
    /// when the volume holds written slots and none is valid: the records are damaged, and
    /// nothing may be built on an empty set in their place.
    private func load() throws(SRError) -> Loaded? {
        guard let store = try volume.open() else { return nil }
        let half = store.size / 2
        guard half >= UInt64(RecordSlot.headerSize) else {
            throw SRError(.metadataError, opterr: "\(name) is \(store.size) bytes, too small for two record slots")
        }
        var candidates: [(offset: UInt64, header: RecordSlot.Header)] = []
        var defects: [String] = []
        var written = false
        for offset in [0, half] {
            let bytes = try read(store, count: RecordSlot.headerSize, at: offset)
            do throws(RecordSlot.Defect) {
                candidates.append((offset, try RecordSlot.decodeHeader(bytes, offset: offset, slotSize: half)))
                written = true
            } catch {
                if error != .blank { written = true }
                defects.append("slot at \(offset): \(error)")
            }
        }
        // A slot B from another medium is a stale copy from before a growth (see the type).
        if candidates.count == 2, candidates[0].header.mediumID != candidates[1].header.mediumID {
            defects.append("slot at \(half): a stale copy (another medium's id)")
            candidates.removeLast()
        }
        for candidate in candidates.sorted(by: { $0.header.generation > $1.header.generation }) {
            let payload = try read(
                store, count: Int(candidate.header.payloadLength), at: candidate.offset + UInt64(RecordSlot.headerSize))
            do throws(RecordSlot.Defect) {
                let records = try RecordSlot.decodePayload(payload, header: candidate.header)
                let slot = RecordSlot(
                    generation: candidate.header.generation, offset: candidate.offset, slotSize: half,
                    mediumID: candidate.header.mediumID, records: records)
                return Loaded(store: store, newest: slot, defects: defects)
            } catch {
                defects.append("slot at \(candidate.offset): \(error)")
            }
        }
        guard !written else {
            throw SRError(.metadataError, opterr: "\(name) holds no valid record set: \(defects.joined(separator: "; "))")
        }
        return Loaded(store: store, newest: nil, defects: defects)
    }

    private func read(_ store: any BlockStore, count: Int, at offset: UInt64) throws(SRError) -> [UInt8] {
        do { return try store.read(count: count, at: offset) } catch {
            throw SRError(.eio, opterr: "\(name): reading \(count) bytes at \(offset): \(error)")
        }
    }

    // MARK: Writing

    private func update(_ change: (inout [String: [UInt8]]) -> Void) throws(SRError) {
        try lock.mutex.withLock { _ throws(SRError) in
            let loaded = try load()
            var records = loaded?.newest?.records ?? [:]
            let before = records
            change(&records)
            guard records != before else { return }
            let needed = RecordSlot.encodedSize(of: records)
            guard needed <= maximumSize / 2 else {
                throw SRError(
                    .srNoSpace,
                    opterr: "\(name): the records need \(needed) bytes, more than the \(maximumSize / 2) a slot may hold")
            }
            guard let loaded else {
                try createVolume(holding: records, needed: needed)
                return
            }
            try write(records, needed: needed, over: loaded)
        }
    }

    /// Creates the volume with the set in slot A and slot B blank.
    private func createVolume(holding records: [String: [UInt8]], needed: UInt64) throws(SRError) {
        try volume.create(size: Self.volumeSize(for: needed, atLeast: initialSize)) { store throws(SRError) in
            let half = store.size / 2
            try blank(slotAt: half, on: store)
            try put(
                RecordSlot(generation: 1, offset: 0, slotSize: half, mediumID: newMediumID(), records: records),
                on: store)
        }
    }

    private func write(_ records: [String: [UInt8]], needed: UInt64, over loaded: Loaded) throws(SRError) {
        let store = loaded.store
        let half = store.size / 2
        guard let newest = loaded.newest else {
            try put(RecordSlot(generation: 1, offset: 0, slotSize: half, mediumID: newMediumID(), records: records), on: store)
            return
        }
        if needed <= half {
            let other: UInt64 = newest.offset == 0 ? half : 0
            try put(
                RecordSlot(
                    generation: newest.generation + 1, offset: other, slotSize: half, mediumID: newest.mediumID,
                    records: records), on: store)
            return
        }
        var generation = newest.generation
        if newest.offset != 0 {
            generation += 1
            try put(
                RecordSlot(
                    generation: generation, offset: 0, slotSize: half, mediumID: newest.mediumID, records: newest.records),
                on: store)
        }
        let grown = Self.volumeSize(for: needed, atLeast: 2 * store.size)
        guard grown <= maximumSize else {
            throw SRError(.srNoSpace, opterr: "\(name) would grow to \(grown) bytes, more than its \(maximumSize)")
        }
        try volume.grow(to: grown)
        guard let reopened = try volume.open() else {
            throw SRError(.metadataError, opterr: "\(name) vanished while it grew")
        }
        let newHalf = reopened.size / 2
        try put(
            RecordSlot(
                generation: generation + 1, offset: newHalf, slotSize: newHalf, mediumID: newest.mediumID,
                records: records), on: reopened)
    }

    /// The smallest volume of two slots that each hold `needed` bytes, at least `minimum`.
    static func volumeSize(for needed: UInt64, atLeast minimum: UInt64) -> UInt64 {
        var size = max(minimum, 2 * UInt64(RecordSlot.headerSize))
        while size / 2 < needed { size *= 2 }
        return size
    }

    private func put(_ slot: RecordSlot, on store: any BlockStore) throws(SRError) {
        do {
            try store.write(slot.encoded(), at: slot.offset)
            try store.flush()
        } catch {
            throw SRError(.eio, opterr: "\(name): writing generation \(slot.generation) at \(slot.offset): \(error)")
        }
    }

    private func blank(slotAt offset: UInt64, on store: any BlockStore) throws(SRError) {
        do {
            try store.write([UInt8](repeating: 0, count: RecordSlot.headerSize), at: offset)
            try store.flush()
        } catch {
            throw SRError(.eio, opterr: "\(name): blanking the slot at \(offset): \(error)")
        }
    }
}
