import BlockIO
import Glibc
import VHDFormat

/// blktap's `vhd-util snapshot` on files: a new differencing disk whose parent is a VHD (or,
/// with `parentIsRaw`, any file), linked with relative locators.
public enum Snapshot {
    public struct Options: Sendable {
        /// The parent is a raw file or device, not a VHD (blktap `-m`).
        public var parentIsRaw = false
        /// Link to the given parent even when it is an empty differencing disk (blktap `-e`).
        public var linkEmptyParent = false
        /// Fail when the new chain would be deeper than this (blktap `-l`).
        public var depthLimit: Int?
        /// Size the BAT for this virtual size (blktap `-S`).
        public var preallocatedSize: UInt64?
        public var blockSize: UInt32 = DynamicHeader.defaultBlockSize

        public init() {}
    }

    /// Creates `childPath` as a snapshot of `parentPath` and returns the new image, open
    /// read-write. The parent is never written.
    ///
    /// Unless the parent is raw or `linkEmptyParent` is set, empty differencing parents (no
    /// block allocated) are skipped: the child links to the first non-empty ancestor, keeping
    /// the supplied parent's size (blktap's rule). A walk that reaches a raw base links to it.
    public static func file(
        at childPath: String, parent parentPath: String, options: Options = Options(),
        resolver: FileParentResolver = FileParentResolver()
    ) throws(VHDError) -> Image {
        guard let canonicalParent = FileParentResolver.canonicalPath(parentPath) else {
            throw .notFound(path: parentPath)
        }
        let target = try linkTarget(canonicalParent, options: options, resolver: resolver)
        if let limit = options.depthLimit, target.depth + 1 > limit {
            throw .chainTooDeep(image: childPath, depth: target.depth, limit: limit)
        }
        let childDirectory = FileParentResolver.canonicalPath(FileParentResolver.directory(of: childPath))
            ?? FileParentResolver.directory(of: childPath)
        let spec = ParentSpec(
            uuid: target.uuid, timestamp: try modificationTime(target.path), name: basename(of: target.path),
            relativePath: relativePath(from: childDirectory, to: target.path))
        let store = try VHDError.wrap { () throws(BlockIOError) in
            try FileBlockStore.create(path: childPath, mode: .truncate)
        }
        let createOptions = Create.Options(
            virtualSize: target.size, blockSize: options.blockSize, preallocatedSize: options.preallocatedSize,
            parent: spec)
        let child = try Create.image(on: store, name: childPath, options: createOptions)
        if let keyHash = target.keyHash { try child.copyKeyHash(from: keyHash) }
        return child
    }

    struct LinkTarget {
        var path: String
        var uuid: VHDUUID
        var size: UInt64
        var depth: Int
        var keyHash: BatmapHeader?
    }

    static func linkTarget(_ parentPath: String, options: Options, resolver: FileParentResolver) throws(VHDError)
        -> LinkTarget
    {
        if options.parentIsRaw {
            let store = try openStore(parentPath)
            return LinkTarget(path: parentPath, uuid: .null, size: store.size, depth: 1, keyHash: nil)
        }
        let supplied = try Image.open(store: try openStore(parentPath), name: parentPath)
        let size = supplied.virtualSize
        var current = supplied
        var path = parentPath
        if !options.linkEmptyParent {
            var visited: [String] = [parentPath]
            while current.isDifferencing, current.bat.allocatedCount == 0 {
                let reference = try ParentLocation.reference(of: current)
                let next = try resolver.resolvePath(reference, of: path)
                if visited.contains(next) { throw .parentCycle(chain: visited + [next]) }
                visited.append(next)
                if current.hasRawParent {
                    return LinkTarget(path: next, uuid: .null, size: size, depth: 1, keyHash: nil)
                }
                current = try Image.open(store: try openStore(next), name: next)
                path = next
            }
        }
        let depth = options.depthLimit == nil ? 0 : try Chain.open(leaf: current, resolver: resolver, depthLimit: Int.max).depth
        return LinkTarget(path: path, uuid: current.uuid, size: size, depth: depth, keyHash: current.batmapHeader)
    }

    static func openStore(_ path: String) throws(VHDError) -> FileBlockStore {
        do { return try FileBlockStore(path: path, readOnly: true) } catch {
            if case .system(_, 2, _) = error { throw .notFound(path: path) }
            throw .io(error)
        }
    }

    /// The file's modification time as a VHD timestamp (blktap records it as `prt_ts`).
    static func modificationTime(_ path: String) throws(VHDError) -> VHDTimestamp {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .io(.system(call: "stat", errno: errno, path: path)) }
        return VHDTimestamp(unixTime: Int64(info.st_mtim.tv_sec))
    }

    static func basename(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// blktap's `relative_path_to`: `./name` in the same directory, else `../` steps up to the
    /// common ancestor and down again. Both paths are canonical and absolute.
    public static func relativePath(from directory: String, to target: String) -> String {
        let from = directory.split(separator: "/")
        let to = target.split(separator: "/")
        var common = 0
        while common < from.count, common < to.count - 1, from[common] == to[common] { common += 1 }
        let ups = from.count - common
        let down = to[common...].joined(separator: "/")
        return ups == 0 ? "./" + down : String(repeating: "../", count: ups) + down
    }
}

extension Image {
    /// Copies a parent's encryption key hash into this image's batmap (blktap copies it on
    /// snapshot).
    func copyKeyHash(from source: BatmapHeader) throws(VHDError) {
        guard source.hasKeyHash, var batmapHeader = batmapHeader, let header else { return }
        batmapHeader.keyHashCookie = source.keyHashCookie
        batmapHeader.keyHashNonce = source.keyHashNonce
        batmapHeader.keyHashHash = source.keyHashHash
        try VHDError.wrap { () throws(BlockIOError) in
            try store.write(batmapHeader.encoded(), at: Layout.batmapHeaderOffset(header: header))
        }
        state.withLock { $0.batmapHeader = batmapHeader }
    }
}
