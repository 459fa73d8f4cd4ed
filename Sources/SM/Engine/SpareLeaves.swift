import VHD
import VHDFormat

/// Spare leaves: empty differencing VHDs made ahead of time in a container, so that a
/// snapshot, clone or revert turns one into a new leaf by writing its headers only. A new
/// leaf's BAT is 4 bytes per 2 MiB of capacity (4 MiB at 2040 GiB), and writing and flushing it
/// was the one cost of a snapshot that grew with the disk; a spare has paid it before.
///
/// Spares are named `.spare-<capacity GiB>-<slot>`: a leading dot and no `.vhd`, so no scan
/// (ours, or a `*.vhd` glob) takes one for a VDI, and fixed slots, so taking one is a rename of
/// a known name (no directory listing, which is slow in an SR of 10,000 VDIs). Callers hold
/// the SR lock.
public struct SpareLeaves: Sendable {
    /// Spares kept per capacity: a double snapshot takes two.
    public static let perCapacity = 2

    public let container: any VolumeContainer

    public init(container: any VolumeContainer) {
        self.container = container
    }

    /// The BAT capacity of a new leaf for a VDI of `size`: twice the VDI, at least 64 GiB,
    /// rounded up to a power of two GiB, at most 2040 GiB — so the VDI can grow online to
    /// there without moving blocks, and VDIs of nearby sizes share spares.
    public static func capacity(for size: UInt64) -> UInt64 {
        let wanted = max(SREngine.minimumPreallocation, size.multipliedReportingOverflow(by: 2).partialValue)
        var capacity = SREngine.minimumPreallocation
        while capacity < wanted, capacity < SREngine.maximumVDISize { capacity <<= 1 }
        return min(SREngine.maximumVDISize, capacity)
    }

    /// The volume name of spare `slot` of `capacity` bytes.
    static func volume(capacity: UInt64, slot: Int) -> String {
        ".spare-\(capacity >> 30)-\(slot)"
    }

    /// Whether `volume` is a spare or a spare being made.
    public static func isSpare(_ volume: String) -> Bool { volume.hasPrefix(".spare-") }

    /// Moves a spare of `capacity` to the name `volume`; false when none is ready.
    func take(capacity: UInt64, as volume: String) -> Bool {
        for slot in 0..<Self.perCapacity {
            let spare = Self.volume(capacity: capacity, slot: slot)
            guard container.exists(spare) else { continue }
            if (try? container.rename(spare, to: volume)) != nil { return true }
        }
        return false
    }

    /// Makes the spares a snapshot of a VDI of `size` would take, where missing; returns how
    /// many it made. Each is written under a temporary name, flushed, then renamed, so a
    /// spare is always whole.
    @discardableResult
    public func replenish(forSize size: UInt64) throws(SRError) -> Int {
        let capacity = Self.capacity(for: size)
        let placeholder = ParentSpec(uuid: .null, timestamp: VHDTimestamp(unixTime: 0), name: "", relativePath: "")
        let options = Create.Options(virtualSize: capacity, preallocatedSize: capacity, parent: placeholder)
        var made = 0
        for slot in 0..<Self.perCapacity {
            let spare = Self.volume(capacity: capacity, slot: slot)
            guard !container.exists(spare) else { continue }
            let temporary = spare + ".tmp"
            try? container.remove(temporary)
            let store = try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in
                try container.create(temporary, size: 0)
            }
            do throws(SRError) {
                try EngineFailure.vhd("vdi_snapshot") { () throws(VHDError) in try Create.write(on: store, options: options) }
                try EngineFailure.volume(.smGeneral) { () throws(VolumeError) in try container.rename(temporary, to: spare) }
            } catch {
                // A full SR must not keep a half-made spare's blocks.
                try? container.remove(temporary)
                throw error
            }
            made += 1
        }
        return made
    }
}

extension SREngine {
    /// This SR's spare leaves.
    public var spares: SpareLeaves { SpareLeaves(container: container) }

    /// The BAT capacity of a new leaf for a VDI of `size` (`SpareLeaves.capacity(for:)`).
    public static func leafCapacity(for size: UInt64) -> UInt64 { SpareLeaves.capacity(for: size) }

    /// Makes the spares a snapshot of a VDI of `size` would take (`SpareLeaves.replenish`).
    @discardableResult
    public func replenishSpares(forSize size: UInt64) throws(SRError) -> Int { try spares.replenish(forSize: size) }
}
