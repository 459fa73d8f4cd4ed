import BlockIO
import Synchronization
import TestSupport
import Testing

@testable import SM

/// A records volume over one memory store, faults injectable; `create` publishes the store
/// only after it is initialised, as the container's staging rename does.
final class StoreRecordVolume: RecordVolume {
    let name = "test-records"
    private let current: Mutex<FaultInjectingBlockStore?>
    private let fault: FaultInjectingBlockStore.Fault?

    init(base: MemoryBlockStore? = nil, fault: FaultInjectingBlockStore.Fault? = nil) {
        self.fault = fault
        current = Mutex(base.map { FaultInjectingBlockStore(base: $0, fault: fault) })
    }

    /// The bytes as they are now, as the next process would find them.
    var crashImage: MemoryBlockStore? {
        current.withLock { $0.map { ($0.base as! MemoryBlockStore).copy() } }
    }

    func open() throws(SRError) -> (any BlockStore)? { current.withLock { $0 } }

    func create(size: UInt64, initialise: (any BlockStore) throws(SRError) -> Void) throws(SRError) {
        let store = FaultInjectingBlockStore(base: MemoryBlockStore(name: name, size: size), fault: fault)
        try initialise(store)
        current.withLock { $0 = store }
    }

    func grow(to size: UInt64) throws(SRError) {
        guard let store = current.withLock({ $0 }) else { throw SRError(.metadataError, opterr: "no volume") }
        do { try store.resize(to: size) } catch { throw SRError(.eio, opterr: "\(error)") }
    }
}

@Suite struct VolumeRecordMediumTests {
    static func medium(_ volume: StoreRecordVolume, maximumSize: UInt64 = 1 << 20) -> VolumeRecordMedium {
        VolumeRecordMedium(volume: volume, lock: .init(), initialSize: 4096, maximumSize: maximumSize)
    }

    static func contents(_ medium: VolumeRecordMedium) throws -> [String: [UInt8]] {
        var all: [String: [UInt8]] = [:]
        for name in try medium.names() {
            if case .bytes(let bytes) = try medium.read(name, limit: 1 << 24) { all[name] = bytes }
        }
        return all
    }

    /// Replacements that fill one slot, then outgrow it twice (from slot A and from slot B).
    static let script: [(name: String, bytes: [UInt8]?)] = [
        ("journal-1", [UInt8](repeating: 1, count: 100)),
        ("metadata", [UInt8](repeating: 2, count: 1000)),
        ("journal-1", nil),
        ("metadata", [UInt8](repeating: 3, count: 3000)),
        ("metadata.previous", [UInt8](repeating: 4, count: 3000)),
        ("journal-2", [UInt8](repeating: 5, count: 200)),
        ("metadata", [UInt8](repeating: 6, count: 9000)),
    ]

    static func apply(_ step: (name: String, bytes: [UInt8]?), to medium: VolumeRecordMedium) throws {
        if let bytes = step.bytes { try medium.replace(step.name, with: bytes) } else { try medium.remove(step.name) }
    }

    static func expected(after steps: Int) -> [String: [UInt8]] {
        var records: [String: [UInt8]] = [:]
        for step in script.prefix(steps) { records[step.name] = step.bytes }
        return records
    }

    @Test func recordsSurviveGrowthAndReloads() throws {
        let volume = StoreRecordVolume()
        let medium = Self.medium(volume)
        #expect(try medium.names().isEmpty)
        for (index, step) in Self.script.enumerated() {
            try Self.apply(step, to: medium)
            #expect(try Self.contents(medium) == Self.expected(after: index + 1))
        }
        let image = try #require(volume.crashImage)
        #expect(image.size == 32768)
        let reloaded = Self.medium(StoreRecordVolume(base: image))
        #expect(try Self.contents(reloaded) == Self.expected(after: Self.script.count))
        #expect(try reloaded.read("metadata", limit: 10) == .oversized(size: 9000, limit: 10))
    }

    /// Kills the writer at every write, flush and resize of every step (whole or torn) and
    /// shows the next reader finds the records as they were before the step or after it.
    @Test func aCrashAtAnyWriteLeavesTheOldOrTheNewRecords() throws {
        let tears: [FaultInjectingBlockStore.TornWrite] = [.none, .prefix(byteCount: 40), .prefix(byteCount: 100), .suffix(byteCount: 60)]
        var crashes = 0
        for step in Self.script.indices {
            for tear in tears {
                for index in 0..<8 {
                    let volume = StoreRecordVolume()
                    let medium = Self.medium(volume)
                    for earlier in Self.script.prefix(step) { try Self.apply(earlier, to: medium) }
                    let fault = FaultInjectingBlockStore.Fault(index: index, counting: .all, tornWrite: tear)
                    let armed = StoreRecordVolume(base: volume.crashImage, fault: fault)
                    let crashed = (try? Self.apply(Self.script[step], to: Self.medium(armed))) == nil
                    let found = try Self.contents(Self.medium(StoreRecordVolume(base: armed.crashImage)))
                    if crashed {
                        crashes += 1
                        #expect(
                            found == Self.expected(after: step) || found == Self.expected(after: step + 1),
                            "step \(step), mutation \(index), \(tear): \(found.keys.sorted())")
                    } else {
                        #expect(found == Self.expected(after: step + 1))
                    }
                    // The next writer carries on from whatever was found.
                    let next = Self.medium(StoreRecordVolume(base: armed.crashImage))
                    try next.replace("after", with: [9])
                    #expect(try next.read("after", limit: 8) == .bytes([9]))
                }
            }
        }
        #expect(crashes >= 80)
    }

    @Test func aStaleCopyFromAnotherMediumIsNeverTaken() throws {
        // An earlier records volume on the same extents, grown to 8 KiB, its newest set in slot B.
        let stale = StoreRecordVolume()
        let staleMedium = Self.medium(stale)
        try staleMedium.replace("metadata", with: Array("old SR".utf8))
        try staleMedium.replace("metadata", with: [UInt8](repeating: 7, count: 3000))
        let staleBytes = try #require(stale.crashImage)
        #expect(staleBytes.size == 8192)
        // This one grew over those extents and was stopped before it wrote its new slot B.
        let volume = StoreRecordVolume()
        try Self.medium(volume).replace("metadata", with: Array("this SR".utf8))
        let store = try #require(volume.crashImage)
        try store.resize(to: 8192)
        try store.write(try staleBytes.read(count: 4096, at: 4096), at: 4096)
        #expect(try Self.contents(Self.medium(StoreRecordVolume(base: store))) == ["metadata": Array("this SR".utf8)])
    }

    @Test func damageToBothSlotsIsReportedNeverReadAsEmpty() throws {
        let volume = StoreRecordVolume()
        let medium = Self.medium(volume)
        try medium.replace("a", with: [1])
        try medium.replace("a", with: [2])
        let store = try #require(volume.crashImage)
        try store.write([0xFF], at: 2048 + 70)
        #expect(try Self.contents(Self.medium(StoreRecordVolume(base: store))) == ["a": [1]])
        try store.write([0xFF], at: 70)
        let error = #expect(throws: SRError.self) { try Self.medium(StoreRecordVolume(base: store)).names() }
        #expect(error?.code == .metadataError)
        #expect(error?.opterr?.contains("payload checksum mismatch") == true)
        #expect(throws: SRError.self) { try Self.medium(StoreRecordVolume(base: store)).replace("b", with: [3]) }
    }

    @Test func aSetTooLargeForTheBoundIsRefusedBeforeAnyWrite() throws {
        let volume = StoreRecordVolume()
        let medium = Self.medium(volume, maximumSize: 16384)
        try medium.replace("small", with: [1])
        let error = #expect(throws: SRError.self) { try medium.replace("big", with: [UInt8](repeating: 0, count: 9000)) }
        #expect(error?.code == .srNoSpace)
        #expect(try Self.contents(medium) == ["small": [1]])
        #expect(throws: SRError.self) { try medium.replace("", with: [1]) }
    }

    /// Random damage to a volume of two generations: the reader never crashes, never invents a
    /// record set, and reports what it cannot trust.
    @Test func fuzzedVolumesYieldAGenerationOrAnError() throws {
        let volume = StoreRecordVolume()
        let medium = Self.medium(volume)
        try medium.replace("metadata", with: Array("generation one".utf8))
        try medium.replace("journal", with: Array("generation two".utf8))
        let pristine = try #require(volume.crashImage)
        let valid: [[String: [UInt8]]] = [
            ["metadata": Array("generation one".utf8)],
            ["metadata": Array("generation one".utf8), "journal": Array("generation two".utf8)],
        ]
        var generator = SplitMix64(seed: 0x5EC0_2D5)
        var errors = 0
        for _ in 0..<3000 {
            let store = pristine.copy()
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let slot: UInt64 = Bool.random(using: &generator) ? 0 : 2048
                let offset = slot + UInt64.random(in: 0..<160, using: &generator)
                try store.write([UInt8.random(in: 0...255, using: &generator)], at: offset)
            }
            do {
                let found = try Self.contents(Self.medium(StoreRecordVolume(base: store)))
                #expect(valid.contains(found))
            } catch let error as SRError {
                #expect(error.code == .metadataError)
                errors += 1
            }
        }
        #expect(errors > 0)
    }
}
