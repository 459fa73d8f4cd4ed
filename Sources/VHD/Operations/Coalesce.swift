import BlockIO
import VHDFormat

/// Copies a differencing disk's own sectors into its immediate parent (blktap `vhd-util
/// coalesce`). The child is left as it is: re-parenting its children and deleting it is the
/// caller's job, as in blktap.
public enum Coalesce {
    /// Coalesces `child` into the image `parent` (a VHD, or a raw store for a raw parent) and
    /// returns the number of sectors copied. `progress` gets the fraction done after each block;
    /// `shouldStop` is asked before each block, and when it answers true the copy ends there,
    /// flushed, with `.cancelled` (every block written is whole, so the parent stays valid).
    public static func run(
        child: Image, into parent: any CoalesceTarget, progress: ((Double) -> Void)? = nil,
        shouldStop: (() -> Bool)? = nil
    ) throws(VHDError) -> UInt64 {
        guard child.isDifferencing else {
            throw .unsupported(image: child.name, operation: "coalescing of non-differencing disks", errno: 22)
        }
        guard parent.virtualSize >= child.virtualSize else {
            throw .outOfRange(image: parent.name, offset: 0, count: child.virtualSize, size: parent.virtualSize)
        }
        let blocks = child.usedBlockCount
        let bat = child.bat
        var buffer = [UInt8](repeating: 0, count: Int(child.blockSize))
        var sectors: UInt64 = 0
        for block in 0..<blocks {
            if let shouldStop, shouldStop() {
                try parent.flushCoalesced()
                throw .cancelled(image: child.name, operation: "coalesce into \(parent.name)")
            }
            if bat.isAllocated(block) {
                let start = UInt64(block) * child.blockSize
                let range = start..<min(child.virtualSize, start + child.blockSize)
                for extent in try child.extents(in: range) where extent.isPresent {
                    let count = Int(extent.range.count)
                    try buffer.withMutableBytes { (bytes) throws(VHDError) in
                        let slice = UnsafeMutableRawBufferPointer(rebasing: bytes[..<count])
                        try child.readPresent(into: slice, at: extent.range.lowerBound)
                        try parent.writeCoalesced(UnsafeRawBufferPointer(slice), at: extent.range.lowerBound)
                    }
                    sectors += divideRoundingUp(UInt64(count), sectorSize)
                }
            }
            progress?(Double(block + 1) / Double(max(blocks, 1)))
        }
        try parent.flushCoalesced()
        return sectors
    }

    /// Coalesces the file `child` into the parent its locators name, returning the sectors copied.
    /// Every coalesce is sparse (blktap `-s`): new blocks are never zero-filled past the end of
    /// the file, so `sparse` changes nothing and is kept for the command line's sake.
    public static func file(child path: String, sparse: Bool = false, progress: ((Double) -> Void)? = nil)
        throws(VHDError) -> UInt64
    {
        let child = try FileAccess.image(path, writable: false)
        guard child.isDifferencing else {
            throw .unsupported(image: path, operation: "coalescing of non-differencing disks", errno: 22)
        }
        let parentPath = try FileParentResolver().resolvePath(try ParentLocation.reference(of: child), of: path)
        if child.hasRawParent {
            return try run(child: child, into: RawCoalesceTarget(store: try FileAccess.store(parentPath, writable: true)), progress: progress)
        }
        let parent = try FileAccess.image(parentPath, writable: true)
        if let expected = child.header?.parentUUID, parent.uuid != expected {
            throw .parentMismatch(child: path, parent: parentPath, expected: expected, found: parent.uuid)
        }
        return try run(child: child, into: parent, progress: progress)
    }
}

/// Where coalesced sectors go: a VHD parent or a raw parent.
public protocol CoalesceTarget {
    var name: String { get }
    var virtualSize: UInt64 { get }
    func writeCoalesced(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(VHDError)
    func flushCoalesced() throws(VHDError)
}

extension Image: CoalesceTarget {
    public func writeCoalesced(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(VHDError) {
        try write(bytes, at: offset)
    }

    public func flushCoalesced() throws(VHDError) { try flush() }
}

/// A raw parent: sectors are written straight into the file at their virtual offset.
public struct RawCoalesceTarget: CoalesceTarget {
    public let store: any BlockStore
    public init(store: any BlockStore) { self.store = store }
    public var name: String { store.name }
    public var virtualSize: UInt64 { store.size }

    public func writeCoalesced(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(VHDError) {
        try VHDError.wrap { () throws(BlockIOError) in try store.write(bytes, at: offset) }
    }

    public func flushCoalesced() throws(VHDError) {
        try VHDError.wrap { () throws(BlockIOError) in try store.flush() }
    }
}
