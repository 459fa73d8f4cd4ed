import Glibc
import Synchronization

/// A regular file or a block device, read and written with `pread` and `pwrite`.
///
/// A regular file grows when written past its end (`canGrow` is true); a block device has the
/// size `BLKGETSIZE64` reports and never grows. `size` is read with `fstat` (or the ioctl) at
/// open and then tracked: writes past the end and `resize(to:)` update it; changes made by
/// other processes are not seen.
///
/// With `direct`, the file is opened with `O_DIRECT`, falling back to cached I/O when the file
/// system refuses it (`EINVAL`), as blktap does; `isDirect` tells which. A direct transfer whose
/// offset, length or buffer address is not a multiple of 4096 bytes is bounced through an
/// aligned buffer (read-modify-write for a write), so callers never need to align.
///
/// Locking: `lock` (a reader-writer lock) guards `descriptor`. Reads, aligned writes, flush,
/// discard and allocation queries hold it shared; `close()`, `resize(to:)` and bounced
/// (read-modify-write) writes hold it exclusively. `currentSize` is an atomic and needs no lock.
public final class FileBlockStore: BlockStore, @unchecked Sendable {
    /// What `create` does when the path already exists.
    public enum CreationMode: Sendable {
        /// Fail with `EEXIST` (`O_EXCL`).
        case exclusive
        /// Replace the contents, starting from an empty file (`O_TRUNC`).
        case truncate
        /// Open the file if it exists, contents kept, else create it: for a caller that checks
        /// which file it got before it empties it.
        case keep
    }

    /// The path the store was opened with.
    public let path: String
    /// Whether the store is a block device (fixed size) rather than a regular file.
    public let isBlockDevice: Bool
    /// Whether the file is open with `O_DIRECT` (false after a fallback to cached I/O).
    public let isDirect: Bool
    public let isReadOnly: Bool
    public var name: String { path }
    public var canGrow: Bool { !isBlockDevice }
    public var size: UInt64 { currentSize.load(ordering: .acquiring) }

    let lock = ReadWriteLock()
    /// The open file; -1 once closed. Guarded by `lock`.
    private var descriptor: Int32
    private let currentSize: Atomic<UInt64>

    /// Opens the existing regular file or block device at `path`.
    ///
    /// Any other kind of file (a FIFO, a socket, a character device, a directory) is refused
    /// with `.notAStore` without waiting: opening a FIFO would otherwise block until a writer
    /// came, and reading one would block for ever.
    ///
    /// - Parameters:
    ///   - readOnly: open with `O_RDONLY`; writes then throw `.readOnly`.
    ///   - direct: ask for `O_DIRECT`, falling back to cached I/O on `EINVAL`.
    public convenience init(path: String, readOnly: Bool = false, direct: Bool = false) throws(BlockIOError) {
        let opened = try Self.open(path, flags: readOnly ? O_RDONLY : O_RDWR, direct: direct)
        try self.init(opened, path: path, readOnly: readOnly)
    }

    /// Creates a regular file at `path`, `size` bytes long and sparse, and opens it read-write.
    ///
    /// With `.exclusive` an existing path fails with `EEXIST`; with `.truncate` it is emptied.
    /// The file ends up with exactly `permissions`, owner-only by default whatever the umask, as
    /// it will hold a disk's data (a file of another user's that is truncated keeps its mode).
    public static func create(
        path: String,
        size: UInt64 = 0,
        mode: CreationMode = .exclusive,
        direct: Bool = false,
        permissions: UInt32 = 0o600
    ) throws(BlockIOError) -> FileBlockStore {
        let flags = O_RDWR | O_CREAT | (mode == .exclusive ? O_EXCL : mode == .truncate ? O_TRUNC : 0)
        let opened = try open(path, flags: flags, direct: direct, permissions: mode_t(permissions))
        do { try Syscalls.restrictMode(opened.descriptor, to: mode_t(permissions), path: path) } catch {
            Syscalls.close(opened.descriptor)
            throw error
        }
        let store = try FileBlockStore(opened, path: path, readOnly: false)
        if size > 0 { try store.resize(to: size) }
        return store
    }

    /// Takes ownership of an opened regular file or block device, closing it on failure.
    private init(_ opened: Opened, path: String, readOnly: Bool) throws(BlockIOError) {
        let size: UInt64
        do throws(BlockIOError) {
            size =
                opened.isBlockDevice
                ? try Syscalls.blockDeviceSize(opened.descriptor, path: path) : UInt64(opened.status.st_size)
        } catch {
            Syscalls.close(opened.descriptor)
            throw error
        }
        self.descriptor = opened.descriptor
        self.path = path
        self.isReadOnly = readOnly
        self.isDirect = opened.isDirect
        self.isBlockDevice = opened.isBlockDevice
        self.currentSize = Atomic(size)
    }

    deinit {
        if descriptor >= 0 { Syscalls.close(descriptor) }
    }

    /// Closes the file; later calls throw `EBADF`. Closing twice is harmless.
    /// The corresponding C function is `close`.
    public func close() {
        lock.withLock(exclusive: true) {
            if descriptor >= 0 { Syscalls.close(descriptor) }
            descriptor = -1
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BlockIOError) {
        try checkRange(offset: offset, count: buffer.count, operation: "read")
        guard buffer.count > 0 else { return }
        try lock.withLock(exclusive: false) { () throws(BlockIOError) in
            let descriptor = try openDescriptor(for: "pread")
            if needsBounce(offset: offset, count: buffer.count, address: buffer.baseAddress) {
                try bouncedRead(descriptor, into: buffer, at: offset)
                return
            }
            let got = try Syscalls.readFully(descriptor, into: buffer, at: offset, path: path)
            if got < buffer.count {
                throw .shortRead(store: name, offset: offset, expected: buffer.count, got: got)
            }
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BlockIOError) {
        if isReadOnly { throw .readOnly(store: name) }
        let (end, overflow) = offset.addingReportingOverflow(UInt64(bytes.count))
        if overflow || (end > size && !canGrow) {
            throw .outOfRange(store: name, operation: "write", offset: offset, count: UInt64(bytes.count), size: size)
        }
        guard bytes.count > 0 else { return }
        let bounced = needsBounce(offset: offset, count: bytes.count, address: bytes.baseAddress)
        try lock.withLock(exclusive: bounced) { () throws(BlockIOError) in
            let descriptor = try openDescriptor(for: "pwrite")
            if bounced {
                try bouncedWrite(descriptor, bytes, at: offset, sizeBefore: size)
            } else {
                try Syscalls.writeFully(descriptor, bytes, at: offset, path: path)
            }
            growSize(to: end)
        }
    }

    /// Makes every completed write durable. The corresponding C function is `fsync`.
    public func flush() throws(BlockIOError) {
        try lock.withLock(exclusive: false) { () throws(BlockIOError) in
            try Syscalls.synchronize(try openDescriptor(for: "fsync"), path: path)
        }
    }

    /// Makes every completed write's data durable, skipping metadata not needed to read it.
    /// The corresponding C function is `fdatasync`.
    public func flushData() throws(BlockIOError) {
        try lock.withLock(exclusive: false) { () throws(BlockIOError) in
            try Syscalls.synchronizeData(try openDescriptor(for: "fdatasync"), path: path)
        }
    }

    /// Truncates or extends a regular file (sparsely); a block device throws `.unsupported`
    /// unless `size` is unchanged. The corresponding C function is `ftruncate`.
    public func resize(to newSize: UInt64) throws(BlockIOError) {
        if isReadOnly { throw .readOnly(store: name) }
        if isBlockDevice {
            if newSize == size { return }
            throw .unsupported(store: name, operation: "resize")
        }
        try lock.withLock(exclusive: true) { () throws(BlockIOError) in
            try Syscalls.truncate(try openDescriptor(for: "ftruncate"), to: newSize, path: path)
            currentSize.store(newSize, ordering: .releasing)
        }
    }

    /// Punches a hole over `range` (`FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`); where the
    /// file system or device cannot, writes zeros instead. The corresponding C function is
    /// `fallocate`.
    public func discard(_ range: Range<UInt64>) throws(BlockIOError) {
        if isReadOnly { throw .readOnly(store: name) }
        guard !range.isEmpty else { return }
        try checkRange(range, operation: "discard")
        let punched = try lock.withLock(exclusive: false) { () throws(BlockIOError) -> Bool in
            let descriptor = try openDescriptor(for: "fallocate")
            do throws(BlockIOError) {
                try Syscalls.allocate(
                    descriptor,
                    mode: Syscalls.fallocatePunchHole | Syscalls.fallocateKeepSize,
                    offset: range.lowerBound,
                    length: range.upperBound - range.lowerBound,
                    path: path
                )
                return true
            } catch {
                if [EOPNOTSUPP, ENOSYS, EINVAL, ENODEV].contains(error.errno) { return false }
                throw error
            }
        }
        if !punched { try writeZeros(count: range.upperBound - range.lowerBound, at: range.lowerBound) }
    }

    /// Walks `range` with `SEEK_DATA` and `SEEK_HOLE`, clamped to `size`. A file system without
    /// them (`EINVAL`) reports the whole clamped range. The corresponding C function is `lseek`.
    public func allocatedRanges(in range: Range<UInt64>) throws(BlockIOError) -> [Range<UInt64>] {
        let end = min(range.upperBound, size)
        guard range.lowerBound < end else { return [] }
        return try lock.withLock(exclusive: false) { () throws(BlockIOError) -> [Range<UInt64>] in
            let descriptor = try openDescriptor(for: "lseek")
            var ranges: [Range<UInt64>] = []
            var position = range.lowerBound
            while position < end {
                let data: UInt64?
                do throws(BlockIOError) {
                    data = try Syscalls.seek(descriptor, to: position, whence: Syscalls.seekData, path: path)
                } catch  where error.errno == EINVAL {
                    return [range.lowerBound..<end]
                }
                guard let data, data < end else { break }
                let hole = try Syscalls.seek(descriptor, to: data, whence: Syscalls.seekHole, path: path) ?? end
                position = min(hole, end)
                ranges.append(data..<position)
            }
            return ranges
        }
    }

    /// The bytes the file system has allocated to the file (`st_blocks` × 512).
    /// The corresponding C function is `fstat`.
    public func allocatedByteCount() throws(BlockIOError) -> UInt64 {
        try lock.withLock(exclusive: false) { () throws(BlockIOError) -> UInt64 in
            let status = try Syscalls.status(try openDescriptor(for: "fstat"), path: path)
            return UInt64(status.st_blocks) * 512
        }
    }

    /// The file's identity now (`StoreIdentity`); nil once closed. The corresponding C
    /// function is `fstat`.
    public func fileIdentity() -> StoreIdentity? {
        lock.withLock(exclusive: false) { () -> StoreIdentity? in
            guard descriptor >= 0, let status = try? Syscalls.status(descriptor, path: path) else { return nil }
            return StoreIdentity(status)
        }
    }

    /// The descriptor, or `EBADF` once closed. Call with `lock` held.
    private func openDescriptor(for call: String) throws(BlockIOError) -> Int32 {
        if descriptor < 0 { throw .system(call: call, errno: EBADF, path: path) }
        return descriptor
    }

    /// Raises the tracked size to `end` if it is smaller.
    private func growSize(to end: UInt64) {
        var current = currentSize.load(ordering: .acquiring)
        while current < end {
            let (exchanged, original) = currentSize.compareExchange(
                expected: current,
                desired: end,
                ordering: .acquiringAndReleasing
            )
            if exchanged { return }
            current = original
        }
    }

    /// A descriptor of a regular file or block device, with the status it was checked by.
    private struct Opened {
        var descriptor: Int32
        var status: stat
        var isDirect: Bool
        var isBlockDevice: Bool { status.st_mode & S_IFMT == S_IFBLK }
    }

    /// Opens `path` without blocking, refuses anything but a regular file or block device,
    /// then makes I/O blocking again and turns on `O_DIRECT` when `direct`, saying whether it
    /// stuck. `O_NONBLOCK` keeps the open of a FIFO from waiting for a writer (and `O_NOCTTY`
    /// a terminal from becoming ours); the kind comes from `fstat` on the descriptor itself,
    /// so nothing can swap the file between the check and the use. Setting `O_DIRECT` after
    /// `open` keeps an `O_EXCL` create from half-succeeding when the file system refuses it.
    private static func open(
        _ path: String,
        flags: Int32,
        direct: Bool,
        permissions: mode_t = 0o600
    ) throws(BlockIOError) -> Opened {
        let descriptor: Int32
        do throws(BlockIOError) {
            descriptor = try Syscalls.open(path, flags: flags | O_NONBLOCK | O_NOCTTY, permissions: permissions)
        } catch where error.errno == ENXIO || error.errno == EISDIR {
            // A socket (ENXIO) or a directory opened for writing (EISDIR): say what it is.
            if let status = Syscalls.status(of: path), !FileKind(mode: status.st_mode).holdsImages {
                throw .notAStore(path: path, kind: FileKind(mode: status.st_mode))
            }
            throw error
        }
        do throws(BlockIOError) {
            let status = try Syscalls.status(descriptor, path: path)
            let kind = FileKind(mode: status.st_mode)
            guard kind.holdsImages else { throw BlockIOError.notAStore(path: path, kind: kind) }
            try Syscalls.removeStatusFlags(descriptor, O_NONBLOCK, path: path)
            return Opened(descriptor: descriptor, status: status, isDirect: try enableDirect(descriptor, direct, path))
        } catch {
            Syscalls.close(descriptor)
            throw error
        }
    }

    /// Turns on `O_DIRECT` when asked; false when not asked or the file system refuses it.
    private static func enableDirect(_ descriptor: Int32, _ direct: Bool, _ path: String) throws(BlockIOError) -> Bool {
        guard direct else { return false }
        do throws(BlockIOError) {
            try Syscalls.addStatusFlags(descriptor, Syscalls.openDirect, path: path)
            return true
        } catch where error.errno == EINVAL {
            // The file system refuses O_DIRECT (tmpfs before Linux 6.6): use the page cache.
            return false
        }
    }
}
