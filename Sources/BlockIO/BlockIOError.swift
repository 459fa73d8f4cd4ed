/// Everything that can go wrong below the formats: a failed system call, a range outside a
/// store, an operation a store cannot do.
public enum BlockIOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed; `errno` is the C value, `call` the C function's name.
    case system(call: String, errno: Int32, path: String)
    /// An access outside the store's bounds.
    case outOfRange(store: String, operation: String, offset: UInt64, count: UInt64, size: UInt64)
    /// A write to a store opened read-only.
    case readOnly(store: String)
    /// An operation this kind of store cannot perform.
    case unsupported(store: String, operation: String)
    /// A read that returned fewer bytes than asked because the store ended first.
    case shortRead(store: String, offset: UInt64, expected: Int, got: Int)
    /// A fault injected by a test (`FaultInjectingBlockStore`).
    case injectedFault(store: String, operation: String, index: Int)
    /// A path that names neither a regular file nor a block device (a FIFO, a socket, a
    /// character device, a directory): refused at open, before a read could block on it.
    case notAStore(path: String, kind: FileKind)

    /// The POSIX errno that best describes this error, for tools that exit with one.
    public var errno: Int32 {
        switch self {
        case .system(_, let errno, _): return errno
        case .outOfRange: return 34  // ERANGE
        case .readOnly: return 30  // EROFS
        case .unsupported: return 95  // EOPNOTSUPP
        case .shortRead: return 5  // EIO
        case .injectedFault: return 5  // EIO
        case .notAStore(_, let kind): return kind == .directory ? 21 : 22  // EISDIR, EINVAL
        }
    }

    /// Whether the storage below is full: `ENOSPC`, `EDQUOT` (a quota), or `EFBIG` (the file
    /// system's largest file); a write there may succeed once space is freed.
    public var isOutOfSpace: Bool {
        guard case .system(_, let code, _) = self else { return false }
        return code == 28 || code == 122 || code == 27  // ENOSPC, EDQUOT, EFBIG (Linux values)
    }

    public var description: String {
        switch self {
        case .system(let call, let errno, let path):
            return "\(call) failed on \(path): \(BlockIOError.errnoName(errno)) (errno \(errno))"
        case .outOfRange(let store, let operation, let offset, let count, let size):
            return "\(operation) of \(count) bytes at offset \(offset) is outside \(store) (size \(size))"
        case .readOnly(let store):
            return "\(store) is read-only"
        case .unsupported(let store, let operation):
            return "\(store) does not support \(operation)"
        case .shortRead(let store, let offset, let expected, let got):
            return "short read from \(store) at offset \(offset): expected \(expected) bytes, got \(got)"
        case .injectedFault(let store, let operation, let index):
            return "injected fault in \(store) at \(operation) #\(index)"
        case .notAStore(let path, let kind):
            return "\(path) is a \(kind.rawValue), not a regular file or block device"
        }
    }

    static func errnoName(_ code: Int32) -> String {
        switch code {
        case 1: return "EPERM"
        case 2: return "ENOENT"
        case 5: return "EIO"
        case 6: return "ENXIO"
        case 9: return "EBADF"
        case 12: return "ENOMEM"
        case 13: return "EACCES"
        case 16: return "EBUSY"
        case 17: return "EEXIST"
        case 20: return "ENOTDIR"
        case 21: return "EISDIR"
        case 22: return "EINVAL"
        case 27: return "EFBIG"
        case 28: return "ENOSPC"
        case 30: return "EROFS"
        case 36: return "ENAMETOOLONG"
        case 40: return "ELOOP"
        case 95: return "EOPNOTSUPP"
        case 122: return "EDQUOT"
        default: return "errno"
        }
    }
}
