import Glibc

/// Which file a store is, and the state it is in: device and inode, size, and the times of the
/// last data change and the last inode change (`stat`'s `st_mtim` and `st_ctim`). Two stores
/// with equal identities hold the same bytes, as far as the file system can tell: any write,
/// truncation, link or rename of the file moves one of the times. The change time cannot be set
/// by a user, so an unchanged identity is not forged by `touch`.
public struct StoreIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    public var size: UInt64
    public var modified: Int64
    public var changed: Int64

    /// The identity `stat` describes.
    init(_ status: stat) {
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
        size = UInt64(status.st_size)
        modified = Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
        changed = Int64(status.st_ctim.tv_sec) * 1_000_000_000 + Int64(status.st_ctim.tv_nsec)
    }
}

extension BlockStore {
    /// The store's identity when it is a file; nil for stores with none (memory, slices).
    public var identity: StoreIdentity? { (self as? FileBlockStore)?.fileIdentity() }
}
