import Glibc

/// Thin typed wrappers over the POSIX and Linux calls the file store needs.
///
/// Each wrapper retries `EINTR`, loops until a transfer completes and turns a failure into
/// `BlockIOError.system(call:errno:path:)` naming the C function and the path. Constants the
/// Glibc module does not export (they sit behind `_GNU_SOURCE`) are defined here.
enum Syscalls {
    /// `O_DIRECT`: bypass the page cache. Its value differs between architectures.
    #if arch(arm64) || arch(arm)
        static let openDirect: Int32 = 0o200000
    #else
        static let openDirect: Int32 = 0o40000
    #endif
    /// `SEEK_DATA`: the next offset at or after the given one that holds data.
    static let seekData: Int32 = 3
    /// `SEEK_HOLE`: the next offset at or after the given one inside a hole (or the end).
    static let seekHole: Int32 = 4
    /// `FALLOC_FL_KEEP_SIZE`: do not change the file size.
    static let fallocateKeepSize: Int32 = 0x01
    /// `FALLOC_FL_PUNCH_HOLE`: deallocate the range; it then reads as zeros.
    static let fallocatePunchHole: Int32 = 0x02
    /// `FALLOC_FL_ZERO_RANGE`: zero the range, preferably by unwritten extents.
    static let fallocateZeroRange: Int32 = 0x10
    /// `BLKGETSIZE64`: a block device's size in bytes, as a `UInt64`.
    static let blockGetSize64: UInt = 0x8008_1272
    /// The alignment `O_DIRECT` transfers keep: offset, length and buffer address.
    static let directAlignment = 4096

    /// Opens `path`. The corresponding C function is `open`.
    static func open(_ path: String, flags: Int32, permissions: mode_t = 0o600) throws(BlockIOError) -> Int32 {
        while true {
            let descriptor = Glibc.open(path, flags | O_CLOEXEC, permissions)
            if descriptor >= 0 { return descriptor }
            if errno != EINTR { throw .system(call: "open", errno: errno, path: path) }
        }
    }

    /// Sets an open regular file this user owns to exactly `permissions`. `open` creates with
    /// `permissions` minus the umask, never more, so no one else can open the file before this
    /// call; a device, or another user's file, is left alone.
    /// The corresponding C functions are `fstat` and `fchmod`.
    static func restrictMode(_ descriptor: Int32, to permissions: mode_t, path: String) throws(BlockIOError) {
        let info = try status(descriptor, path: path)
        guard info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(), info.st_mode & 0o7777 != permissions
        else { return }
        while fchmod(descriptor, permissions) != 0 {
            if errno != EINTR { throw .system(call: "fchmod", errno: errno, path: path) }
        }
    }

    /// Closes `descriptor`, ignoring errors (Linux releases the descriptor even when `close`
    /// fails). The corresponding C function is `close`.
    static func close(_ descriptor: Int32) {
        _ = Glibc.close(descriptor)
    }

    /// Adds `flags` (such as `O_DIRECT`) to an open file's status flags.
    /// The corresponding C function is `fcntl` (`F_GETFL`, then `F_SETFL`).
    static func addStatusFlags(_ descriptor: Int32, _ flags: Int32, path: String) throws(BlockIOError) {
        try changeStatusFlags(descriptor, path: path) { $0 | flags }
    }

    /// Clears `flags` (such as `O_NONBLOCK`) from an open file's status flags.
    /// The corresponding C function is `fcntl` (`F_GETFL`, then `F_SETFL`).
    static func removeStatusFlags(_ descriptor: Int32, _ flags: Int32, path: String) throws(BlockIOError) {
        try changeStatusFlags(descriptor, path: path) { $0 & ~flags }
    }

    private static func changeStatusFlags(
        _ descriptor: Int32, path: String, _ change: (Int32) -> Int32
    ) throws(BlockIOError) {
        let current = Glibc.fcntl(descriptor, F_GETFL)
        if current < 0 { throw .system(call: "fcntl", errno: errno, path: path) }
        if Glibc.fcntl(descriptor, F_SETFL, change(current)) != 0 {
            throw .system(call: "fcntl", errno: errno, path: path)
        }
    }

    /// The status of the file `path` names, following links; nil when it cannot be had.
    /// The corresponding C function is `stat`.
    static func status(of path: String) -> stat? {
        var result = stat()
        return stat(path, &result) == 0 ? result : nil
    }

    /// Reads into all of `buffer` from `offset`, looping over partial transfers. Returns the
    /// number of bytes read, which is less than `buffer.count` only at end of file.
    /// The corresponding C function is `pread`.
    static func readFully(
        _ descriptor: Int32,
        into buffer: UnsafeMutableRawBufferPointer,
        at offset: UInt64,
        path: String
    ) throws(BlockIOError) -> Int {
        try checkFileRange(offset, count: buffer.count, call: "pread", path: path)
        var done = 0
        while done < buffer.count {
            guard let base = buffer.baseAddress else { break }
            let count = Glibc.pread(descriptor, base + done, buffer.count - done, off_t(offset + UInt64(done)))
            if count > 0 {
                done += count
            } else if count == 0 {
                break
            } else if errno != EINTR {
                throw .system(call: "pread", errno: errno, path: path)
            }
        }
        return done
    }

    /// Writes all of `bytes` at `offset`, looping over partial transfers.
    /// The corresponding C function is `pwrite`.
    static func writeFully(
        _ descriptor: Int32,
        _ bytes: UnsafeRawBufferPointer,
        at offset: UInt64,
        path: String
    ) throws(BlockIOError) {
        try checkFileRange(offset, count: bytes.count, call: "pwrite", path: path)
        var done = 0
        while done < bytes.count {
            guard let base = bytes.baseAddress else { break }
            let count = Glibc.pwrite(descriptor, base + done, bytes.count - done, off_t(offset + UInt64(done)))
            if count > 0 {
                done += count
            } else if count == 0 {
                throw .system(call: "pwrite", errno: EIO, path: path)
            } else if errno != EINTR {
                throw .system(call: "pwrite", errno: errno, path: path)
            }
        }
    }

    /// The status of an open file. The corresponding C function is `fstat`.
    static func status(_ descriptor: Int32, path: String) throws(BlockIOError) -> stat {
        var result = stat()
        if Glibc.fstat(descriptor, &result) != 0 { throw .system(call: "fstat", errno: errno, path: path) }
        return result
    }

    /// Makes data and metadata durable. The corresponding C function is `fsync`.
    static func synchronize(_ descriptor: Int32, path: String) throws(BlockIOError) {
        try retrying("fsync", path: path) { Glibc.fsync(descriptor) }
    }

    /// Makes data (and the metadata needed to read it) durable.
    /// The corresponding C function is `fdatasync`.
    static func synchronizeData(_ descriptor: Int32, path: String) throws(BlockIOError) {
        try retrying("fdatasync", path: path) { Glibc.fdatasync(descriptor) }
    }

    /// Sets the file's length. The corresponding C function is `ftruncate`.
    static func truncate(_ descriptor: Int32, to size: UInt64, path: String) throws(BlockIOError) {
        try checkFileRange(size, count: 0, call: "ftruncate", path: path)
        try retrying("ftruncate", path: path) { Glibc.ftruncate(descriptor, off_t(size)) }
    }

    /// Manipulates the space behind a range (`mode` is a set of `FALLOC_FL_*` flags).
    /// The corresponding C function is `fallocate`; Glibc's module hides it behind
    /// `_GNU_SOURCE`, so it is looked up with `dlsym`, and a C library without it fails with
    /// `EOPNOTSUPP`.
    static func allocate(
        _ descriptor: Int32,
        mode: Int32,
        offset: UInt64,
        length: UInt64,
        path: String
    ) throws(BlockIOError) {
        try checkFileRange(offset, count: length, call: "fallocate", path: path)
        guard let function = fallocateFunction else {
            throw .system(call: "fallocate", errno: EOPNOTSUPP, path: path)
        }
        try retrying("fallocate", path: path) { function(descriptor, mode, off_t(offset), off_t(length)) }
    }

    /// Repositions the file offset with `whence` (`SEEK_SET`, `SEEK_END`, `SEEK_DATA`,
    /// `SEEK_HOLE`) and returns the new offset, or `nil` when the call fails with `ENXIO`
    /// (no data at or after `offset`). The corresponding C function is `lseek`.
    static func seek(
        _ descriptor: Int32,
        to offset: UInt64,
        whence: Int32,
        path: String
    ) throws(BlockIOError)
        -> UInt64?
    {
        try checkFileRange(offset, count: 0, call: "lseek", path: path)
        let result = Glibc.lseek(descriptor, off_t(offset), whence)
        if result >= 0 { return UInt64(result) }
        if errno == ENXIO { return nil }
        throw .system(call: "lseek", errno: errno, path: path)
    }

    /// A block device's size in bytes, by the `BLKGETSIZE64` request.
    /// The corresponding C function is `ioctl`.
    static func blockDeviceSize(_ descriptor: Int32, path: String) throws(BlockIOError) -> UInt64 {
        var size: UInt64 = 0
        let result = withUnsafeMutableBytes(of: &size) { bytes in
            guard let base = bytes.baseAddress else { return Int32(-1) }
            return Glibc.ioctl(descriptor, blockGetSize64, base)
        }
        if result != 0 { throw .system(call: "ioctl", errno: errno, path: path) }
        return size
    }

    /// Throws `EFBIG` unless `offset + count` fits in `off_t`, so that no conversion traps.
    private static func checkFileRange<Count: BinaryInteger>(
        _ offset: UInt64,
        count: Count,
        call: String,
        path: String
    ) throws(BlockIOError) {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        if overflow || end > UInt64(Int64.max) { throw .system(call: call, errno: EFBIG, path: path) }
    }

    /// Calls `body` until it returns something other than -1 with `EINTR`; throws on -1.
    private static func retrying(
        _ call: String,
        path: String,
        _ body: () -> Int32
    ) throws(BlockIOError) {
        while body() != 0 {
            if errno != EINTR { throw .system(call: call, errno: errno, path: path) }
        }
    }

    private typealias FallocateFunction = @convention(c) (Int32, Int32, off_t, off_t) -> Int32

    /// `fallocate` from the C library, found once.
    private static let fallocateFunction: FallocateFunction? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "fallocate") else { return nil }
        return unsafeBitCast(symbol, to: FallocateFunction.self)
    }()
}
