import Glibc

/// What kind of file a path names, from `st_mode`: only regular files and block devices hold
/// disk images; every other kind is refused when a store is opened.
public enum FileKind: String, Sendable, Equatable {
    case regularFile = "regular file"
    case blockDevice = "block device"
    case directory
    case fifo = "FIFO"
    case characterDevice = "character device"
    case socket
    case symbolicLink = "symbolic link"
    case unknown = "file of unknown type"

    /// The kind `mode` (a `stat` `st_mode`) describes.
    public init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regularFile
        case S_IFBLK: self = .blockDevice
        case S_IFDIR: self = .directory
        case S_IFIFO: self = .fifo
        case S_IFCHR: self = .characterDevice
        case S_IFSOCK: self = .socket
        case S_IFLNK: self = .symbolicLink
        default: self = .unknown
        }
    }

    /// Whether a store can live in a file of this kind.
    public var holdsImages: Bool { self == .regularFile || self == .blockDevice }
}
