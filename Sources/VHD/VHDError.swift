import BlockIO
import VHDFormat

/// Everything the VHD engine reports: each case names the image and the input that was wrong,
/// and maps to the errno blktap's tools would exit with.
public enum VHDError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The storage below failed.
    case io(BlockIOError)
    /// The image is not a valid VHD (or not one we can use): `problem` says what, in blktap's
    /// words where it has them.
    case invalid(image: String, problem: String)
    /// A named file or parent does not exist.
    case notFound(path: String)
    /// A parent's footer UUID differs from the UUID the child's header expects.
    case parentMismatch(child: String, parent: String, expected: VHDUUID, found: VHDUUID)
    /// The parent chain loops back on itself; `chain` lists the images in walk order.
    case parentCycle(chain: [String])
    /// The parent chain is longer than the configured limit.
    case chainTooDeep(image: String, depth: Int, limit: Int)
    /// An access outside the virtual disk (blktap: ERANGE).
    case outOfRange(image: String, offset: UInt64, count: UInt64, size: UInt64)
    /// An offset or length that is not a whole number of sectors where one is required.
    case unaligned(image: String, offset: UInt64, count: UInt64)
    /// A write to an image opened read-only.
    case readOnly(image: String)
    /// An image disabled by blktap's poison cookie while a journaled operation runs.
    case disabled(image: String)
    /// An operation this image cannot do (blktap: ENOSYS or EINVAL).
    case unsupported(image: String, operation: String, errno: Int32)
    /// No space is left for a new block (a fixed-size store is full, or the 2 TiB BAT limit).
    case noSpace(image: String, needed: UInt64, available: UInt64)
    /// An argument out of its domain (a size too large, a block size not a power of two).
    case invalidArgument(String)
    /// A parent path that is not allowed (outside the confinement root, or malformed).
    case forbiddenParentPath(image: String, path: String, reason: String)
    /// A block is allocated wholly beyond the current (virtual) size, so its data could never
    /// be read: the footer's size was cut (to 0, say) under data. blktap's `check` reports
    /// such a footer as "geometry too large" when the geometry still says the old size.
    case blockBeyondVirtualSize(image: String, block: Int, blockSize: UInt32, currentSize: UInt64)
    /// A journaled operation failed and was rolled back; `cause` is why it failed and
    /// `causeErrno` the errno that failure carried.
    case rolledBack(operation: String, cause: String, causeErrno: Int32)
    /// A long operation was stopped on request (an abort) before it finished; what it wrote is
    /// complete and the image valid.
    case cancelled(image: String, operation: String)

    /// The positive errno blktap's `vhd-util` exits with for this kind of failure.
    public var errno: Int32 {
        switch self {
        case .io(let error): return error.errno
        case .invalid: return 22
        case .notFound: return 2
        case .parentMismatch: return 22
        case .parentCycle: return 40  // ELOOP
        case .chainTooDeep: return 28  // ENOSPC, as blktap's snapshot depth check
        case .outOfRange: return 34
        case .unaligned: return 22
        case .readOnly: return 30
        case .disabled: return 22
        case .unsupported(_, _, let errno): return errno
        case .noSpace: return 28
        case .invalidArgument: return 22
        case .forbiddenParentPath: return 1  // EPERM
        case .blockBeyondVirtualSize: return 22
        case .rolledBack(_, _, let causeErrno): return causeErrno
        case .cancelled: return 125  // ECANCELED
        }
    }

    public var description: String {
        switch self {
        case .io(let error): return error.description
        case .invalid(let image, let problem): return "\(image): invalid VHD: \(problem)"
        case .notFound(let path): return "\(path): no such file"
        case .parentMismatch(let child, let parent, let expected, let found):
            return "\(child): parent \(parent) has UUID \(found), expected \(expected)"
        case .parentCycle(let chain): return "parent chain loops: " + chain.joined(separator: " -> ")
        case .chainTooDeep(let image, let depth, let limit):
            return "\(image): chain depth \(depth) exceeds the limit of \(limit)"
        case .outOfRange(let image, let offset, let count, let size):
            return "\(image): access of \(count) bytes at \(offset) is beyond the virtual size \(size)"
        case .unaligned(let image, let offset, let count):
            return "\(image): access of \(count) bytes at \(offset) is not sector aligned"
        case .readOnly(let image): return "\(image) is open read-only"
        case .disabled(let image): return "\(image) is disabled (poisoned by an unfinished journaled operation)"
        case .unsupported(let image, let operation, _): return "\(image): \(operation) is not supported"
        case .noSpace(let image, let needed, let available):
            return "\(image): no space for a new block (needs up to byte \(needed), store ends at \(available))"
        case .invalidArgument(let message): return message
        case .forbiddenParentPath(let image, let path, let reason):
            return "\(image): parent path '\(path)' refused: \(reason)"
        case .blockBeyondVirtualSize(let image, let block, let blockSize, let currentSize):
            return
                "\(image): invalid VHD: block \(block) is allocated but starts at virtual byte \(UInt64(block) * UInt64(blockSize)), at or beyond the current size of \(currentSize) bytes"
        case .rolledBack(let operation, let cause, _): return "\(operation) failed and was rolled back: \(cause)"
        case .cancelled(let image, let operation): return "\(image): \(operation) stopped on request"
        }
    }
}

extension VHDError {
    /// Wraps a storage error from a throwing BlockIO call.
    @inline(__always)
    public static func wrap<T>(_ body: () throws(BlockIOError) -> T) throws(VHDError) -> T {
        do { return try body() } catch { throw .io(error) }
    }
}
