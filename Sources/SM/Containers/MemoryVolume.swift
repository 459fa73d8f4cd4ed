import BlockIO
import Glibc
import Synchronization

/// A volume of a `MemoryVolumeContainer`: the bytes (a sparse `MemoryBlockStore`), sized
/// either as written (a file) or only by the container (an LV), and charged to the
/// container's space so a full container fails writes with `ENOSPC` as a file system does.
///
/// Locking: `growth` serialises writes that extend the volume with their charge to the
/// space; the bytes are guarded by the inner store's own lock.
final class MemoryVolume: Sendable {
    let bytes: MemoryBlockStore
    let fixedSize: Bool
    let space: MemorySpace
    private let growth = Mutex(())

    init(name: String, size: UInt64, fixedSize: Bool, space: MemorySpace) {
        bytes = MemoryBlockStore(name: name, size: size)
        self.fixedSize = fixedSize
        self.space = space
    }

    private init(bytes: MemoryBlockStore, fixedSize: Bool, space: MemorySpace) {
        self.bytes = bytes
        self.fixedSize = fixedSize
        self.space = space
    }

    /// An independent copy of the bytes as they are now, charged to `space`.
    func copy(into space: MemorySpace) -> MemoryVolume {
        MemoryVolume(bytes: bytes.copy(), fixedSize: fixedSize, space: space)
    }

    var size: UInt64 { bytes.size }

    /// Writes `data`, growing a growable volume (charged to the space) when it ends past the end.
    func write(_ data: UnsafeRawBufferPointer, at offset: UInt64, store: String) throws(BlockIOError) {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(data.count))
        guard !overflow, end > bytes.size else { return try bytes.write(data, at: offset) }
        if fixedSize {
            throw .outOfRange(store: store, operation: "write", offset: offset, count: UInt64(data.count), size: bytes.size)
        }
        try growth.withLock { (_: inout Void) throws(BlockIOError) in
            let current = bytes.size
            if end > current, !space.charge(end - current) {
                throw .system(call: "pwrite", errno: ENOSPC, path: store)
            }
            try bytes.write(data, at: offset)
        }
    }

    /// Sets the size, charging growth to the space and crediting a shrink.
    func resize(to newSize: UInt64, store: String) throws(BlockIOError) {
        try growth.withLock { (_: inout Void) throws(BlockIOError) in
            let current = bytes.size
            if newSize > current, !space.charge(newSize - current) {
                throw .system(call: "ftruncate", errno: ENOSPC, path: store)
            }
            try bytes.resize(to: newSize)
            if newSize < current { space.credit(current - newSize) }
        }
    }
}

/// The bytes a memory container has room for, and how many its volumes take.
///
/// Locking: `used` (a `Mutex`) guards the count.
final class MemorySpace: Sendable {
    let total: UInt64
    private let used: Mutex<UInt64>

    init(total: UInt64, used: UInt64 = 0) {
        self.total = total
        self.used = Mutex(used)
    }

    var free: UInt64 { used.withLock { total - $0 } }

    /// Takes `bytes` of the free space; false (nothing taken) when there is not that much.
    func charge(_ bytes: UInt64) -> Bool {
        used.withLock { used in
            guard total - used >= bytes else { return false }
            used += bytes
            return true
        }
    }

    func credit(_ bytes: UInt64) {
        used.withLock { $0 -= min($0, bytes) }
    }
}

/// One name's view of a `MemoryVolume`, read-only or writable, as `open` returns it.
final class MemoryVolumeStore: BlockStore {
    let volume: MemoryVolume
    let name: String
    let isReadOnly: Bool

    init(volume: MemoryVolume, name: String, readOnly: Bool) {
        self.volume = volume
        self.name = name
        self.isReadOnly = readOnly
    }

    var size: UInt64 { volume.size }
    var canGrow: Bool { !volume.fixedSize }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BlockIOError) {
        try volume.bytes.read(into: buffer, at: offset)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BlockIOError) {
        if isReadOnly { throw .readOnly(store: name) }
        try volume.write(bytes, at: offset, store: name)
    }

    func flush() throws(BlockIOError) {}

    /// A fixed volume (an LV) changes size only through its container, as a block device does.
    func resize(to size: UInt64) throws(BlockIOError) {
        if isReadOnly { throw .readOnly(store: name) }
        if volume.fixedSize {
            guard size == volume.size else { throw .unsupported(store: name, operation: "resize") }
            return
        }
        try volume.resize(to: size, store: name)
    }

    func discard(_ range: Range<UInt64>) throws(BlockIOError) {
        if isReadOnly { throw .readOnly(store: name) }
        try volume.bytes.discard(range)
    }

    func allocatedRanges(in range: Range<UInt64>) throws(BlockIOError) -> [Range<UInt64>] {
        try volume.bytes.allocatedRanges(in: range)
    }
}
