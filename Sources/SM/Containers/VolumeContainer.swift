import BlockIO
import VHD

/// A namespace of named volumes, each a `BlockStore`: the seam between the one generic SR
/// engine and the four drivers. Files in a directory (ext, nfs) and LVs in a volume group
/// (lvm, lvmoiscsi) differ only here.
///
/// What the engine asks of a container, and how the two kinds answer:
///
/// | | files | LVs |
/// |---|---|---|
/// | `provisioning` | `.growOnWrite`: created empty, grow as written | `.fixed(unit:)`: sized up front (inflated), shrunk when read-only (deflated) |
/// | `supportsLinks` | hard links: a snapshot links the leaf to its base copy | none: a snapshot renames the leaf to its base copy |
/// | `rename` onto an existing name | replaces it atomically | refused (`.exists`) |
/// | tags | none (`supportsTags` false) | LV tags |
/// | `naming` | `<uuid>.vhd`, `<uuid>.raw` | `VHD-<uuid>`, `LV-<uuid>` |
public protocol VolumeContainer: Sendable {
    /// A short name for messages (a directory, a VG).
    var name: String { get }
    /// How volumes get their space: growing as written, or sized up front in units.
    var provisioning: VolumeProvisioning { get }
    /// Whether `link` works (hard links on a file system). Without links the engine never
    /// renames onto an existing name.
    var supportsLinks: Bool { get }
    /// Whether volumes carry tags (`setTags`, `VolumeInfo.tags`).
    var supportsTags: Bool { get }
    /// How this container names the volume of a VDI.
    var naming: VDIVolumeNaming { get }
    /// Where the SR's metadata and intent journal live: files beside the volumes in a
    /// directory; in memory for a memory container.
    var records: any RecordMedium { get }

    /// Every volume, with its size in bytes and its tags.
    func list() throws(VolumeError) -> [VolumeInfo]
    func exists(_ name: String) -> Bool
    /// Creates a volume of `size` bytes (a growable one may start at 0) carrying `tags`;
    /// `.exists` when the name is taken.
    func create(_ name: String, size: UInt64, tags: Set<String>) throws(VolumeError) -> any BlockStore
    func open(_ name: String, writable: Bool) throws(VolumeError) -> any BlockStore
    /// Sets the volume's size (a fixed-size container rounds up to its unit). Stores opened
    /// before may not see the new size: open again after.
    func resize(_ name: String, to size: UInt64) throws(VolumeError)
    /// Renames `from` to `to`. A container with links replaces an existing `to` atomically
    /// (rename(2)); one without may refuse with `.exists`.
    func rename(_ from: String, to: String) throws(VolumeError)
    /// Gives the volume `existing` a second name `new` (a hard link); `.unsupported` without links.
    func link(_ existing: String, as new: String) throws(VolumeError)
    /// Whether two names are the same volume (one was linked to the other); without links,
    /// only a name and itself.
    func isSameVolume(_ first: String, _ second: String) -> Bool
    /// Replaces the volume's tags; `.unsupported` where volumes have none.
    func setTags(_ tags: Set<String>, of name: String) throws(VolumeError)
    func remove(_ name: String) throws(VolumeError)
    /// Makes renames, links and removals durable (a directory fsync; LVM commits its metadata
    /// with each change and has nothing left to do).
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

extension VolumeContainer {
    /// Creates an untagged volume.
    public func create(_ name: String, size: UInt64) throws(VolumeError) -> any BlockStore {
        try create(name, size: size, tags: [])
    }

    /// Whether volumes grow as written (files), so nothing is ever inflated or deflated.
    public var volumesGrowOnWrite: Bool { provisioning == .growOnWrite }
}
