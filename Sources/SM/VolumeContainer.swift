import BlockIO
import VHD

/// A namespace of named volumes, each a `BlockStore`: the seam between the one generic SR
/// engine and the four drivers. Files in a directory (ext, nfs) and LVs in a volume group
/// (lvm, lvmoiscsi) differ only here.
public protocol VolumeContainer: Sendable {
    /// A short name for messages (a directory, a VG).
    var name: String { get }
    /// Whether volumes grow as data is written (files) rather than having a fixed size that
    /// must be inflated before and deflated after (LVs).
    var volumesGrowOnWrite: Bool { get }
    /// Whether `link` works (hard links on a file system).
    var supportsLinks: Bool { get }

    /// Every volume, with its size in bytes.
    func list() throws(VolumeError) -> [VolumeInfo]
    func exists(_ name: String) -> Bool
    /// Creates an empty volume of `size` bytes (growable volumes may start at 0).
    func create(_ name: String, size: UInt64) throws(VolumeError) -> any BlockStore
    func open(_ name: String, writable: Bool) throws(VolumeError) -> any BlockStore
    func resize(_ name: String, to size: UInt64) throws(VolumeError)
    /// Renames `from` to `to`, replacing `to` atomically if it exists.
    func rename(_ from: String, to: String) throws(VolumeError)
    /// Gives the volume `existing` a second name `new` (a hard link).
    func link(_ existing: String, as new: String) throws(VolumeError)
    /// Whether two names are the same volume (one was linked to the other).
    func isSameVolume(_ first: String, _ second: String) -> Bool
    func remove(_ name: String) throws(VolumeError)
    /// Makes renames, links and removals durable (a directory fsync).
    func sync() throws(VolumeError)
    func space() throws(VolumeError) -> (total: UInt64, free: UInt64)
    /// Whether the file or directory with this device and inode is part of the container (its
    /// directory, a volume, a record): where no output may be written.
    func holds(device: UInt64, inode: UInt64) -> Bool
    /// The device number of the storage the volumes live on (a file system's `st_dev`), when it
    /// is on this host: writing over that device, or over the file a loop device maps it from,
    /// destroys every volume at once.
    var backingDevice: UInt64? { get }
    /// How VHD parents named by locators inside this container are found and opened.
    var parentResolver: any ParentResolver { get }
    /// The path a consumer on this host can open the volume by, when there is one.
    func hostPath(of name: String) -> String?
    /// The path a child's parent locators store for the parent volume `name`.
    func locatorPath(for name: String) -> String
}

/// A volume as listed.
public struct VolumeInfo: Hashable, Sendable {
    public var name: String
    public var size: UInt64
    public init(name: String, size: UInt64) {
        self.name = name
        self.size = size
    }
}

/// What a container operation failed with.
public enum VolumeError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(container: String, volume: String)
    case exists(container: String, volume: String)
    case invalidName(String)
    case noSpace(container: String, needed: UInt64)
    case io(container: String, volume: String, BlockIOError)
    case unsupported(container: String, operation: String)

    public var description: String {
        switch self {
        case .notFound(let container, let volume): return "volume \(volume) not found in \(container)"
        case .exists(let container, let volume): return "volume \(volume) already exists in \(container)"
        case .invalidName(let name): return "invalid volume name '\(name)'"
        case .noSpace(let container, let needed): return "\(container) has no room for \(needed) more bytes"
        case .io(let container, let volume, let error): return "\(container)/\(volume): \(error)"
        case .unsupported(let container, let operation): return "\(container) does not support \(operation)"
        }
    }
}

/// How the engine names a VDI's volume: `<uuid>.vhd` or `<uuid>.raw`, as the reference's file SRs.
public enum VolumeNaming {
    public static func volume(for uuid: String, type: VDIRecord.VolumeType) -> String {
        uuid + (type == .vhd ? ".vhd" : ".raw")
    }

    /// The volume a parent locator names: its last path component (`./<name>` → `<name>`).
    public static func volume(ofLocator reference: String) -> String {
        reference.split(separator: "/").last.map(String.init) ?? reference
    }

    /// Where an operation writes a volume before it takes `volume`'s name (`<volume>.new`).
    public static func staging(_ volume: String) -> String { volume + ".new" }

    /// The name a revert keeps the old leaf under until it commits (`<volume>.old`).
    public static func previous(_ volume: String) -> String { volume + ".old" }

    /// The name a VDI's volume takes when its destroy is committed (`<volume>.destroy`): it
    /// stays, emptied, until the record's removal is saved.
    public static func destroying(_ volume: String) -> String { volume + ".destroy" }

    /// The VDI volume a destroy marker stands for.
    public static func volume(ofDestroying name: String) -> String? {
        name.hasSuffix(".destroy") ? String(name.dropLast(".destroy".count)) : nil
    }

    /// Whether `name` is what an interrupted operation leaves and nothing refers to once every
    /// intent is recovered: a staging or previous volume, or a temporary file of a record write.
    public static func isLeftover(_ name: String) -> Bool {
        name.hasSuffix(".new") || name.hasSuffix(".old") || name.contains(DurableFile.temporaryMarker)
            || (SpareLeaves.isSpare(name) && name.hasSuffix(".tmp"))
    }

    /// The VDI uuid and type a volume name stands for; nil for anything else in the container.
    public static func vdi(of volume: String) -> (uuid: String, type: VDIRecord.VolumeType)? {
        for (suffix, type) in [(".vhd", VDIRecord.VolumeType.vhd), (".raw", .raw)] where volume.hasSuffix(suffix) {
            let uuid = String(volume.dropLast(suffix.count))
            if Identifier.isUUID(uuid) { return (uuid, type) }
        }
        return nil
    }
}
