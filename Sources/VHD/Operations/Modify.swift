import BlockIO
import VHDFormat

/// blktap `vhd-util modify`: re-parent, move the footer, kill data.
public enum Modify {
    /// Points `path` at `newParent` (blktap `modify -p [-m]`): rewrites each MacX/W2ku/W2ru
    /// locator in place with the new relative path, then the header's parent UUID (null for a
    /// raw parent), name and timestamp. Locator data goes first and the header last, so a crash
    /// leaves either the old parent fully named by the header or the new one.
    public static func setParent(path: String, newParent: String, parentIsRaw: Bool = false) throws(VHDError) {
        let image = try FileAccess.image(path, writable: true)
        guard let canonical = FileParentResolver.canonicalPath(newParent) else { throw .notFound(path: newParent) }
        let uuid: VHDUUID = parentIsRaw ? .null : try FileAccess.image(canonical, writable: false).uuid
        if !parentIsRaw { try refuseCycle(child: path, newParent: canonical) }
        let directory = FileParentResolver.canonicalPath(FileParentResolver.directory(of: path)) ?? "."
        let spec = ParentSpec(
            uuid: uuid, timestamp: try Snapshot.modificationTime(canonical), name: Snapshot.basename(of: canonical),
            relativePath: Snapshot.relativePath(from: directory, to: canonical))
        try setParent(of: image, to: spec)
    }

    /// Points the differencing `image` at the parent `spec` names, the same way: each blktap
    /// locator rewritten in place with `spec.relativePath`, then the header (parent UUID, name,
    /// timestamp). For images not reached by path (a volume of a container), whose caller
    /// has already refused a cycle.
    public static func setParent(of image: Image, to spec: ParentSpec) throws(VHDError) {
        guard image.isDifferencing, var header = image.header else {
            throw .unsupported(image: image.name, operation: "setting the parent of a disk that is not differencing", errno: 22)
        }
        var writes: [(offset: UInt64, bytes: [UInt8])] = []
        for (slot, locator) in header.usedLocators {
            guard let code = locator.platformCode, Layout.blktapLocatorCodes.contains(code) else { continue }
            let payload = ParentLocator.encodePath(spec.relativePath, as: code)
            guard let space = locator.dataSpaceBytes, UInt64(payload.count) <= space else {
                throw .unsupported(image: image.name, operation: "a parent path of \(payload.count) bytes in a \(locator.dataSpaceBytes ?? 0)-byte locator", errno: 36)
            }
            header.locators[slot].dataLength = UInt32(payload.count)
            writes.append((locator.dataOffset, payload + [UInt8](repeating: 0, count: Int(space) - payload.count)))
        }
        header.parentUUID = spec.uuid
        header.parentTimestamp = spec.timestamp
        header.parentName = spec.name
        try image.rewriteMetadata(writes + [(Layout.headerOffset, header.encoded())]) { $0.header = header }
    }

    /// Throws `.parentCycle` when `child` is `newParent` or one of its ancestors: linking them
    /// would make the chain a loop. A chain that cannot be opened is no proof of a cycle and
    /// does not stop the re-parent (blktap re-parents onto broken chains too).
    static func refuseCycle(child: String, newParent: String) throws(VHDError) {
        let childPath = FileParentResolver.canonicalPath(child) ?? child
        var walked = [newParent]
        var current = newParent
        while walked.count <= Chain.defaultDepthLimit * 4 {
            if current == childPath { throw .parentCycle(chain: [childPath] + walked) }
            guard let image = try? FileAccess.image(current, writable: false), image.isDifferencing, !image.hasRawParent,
                let reference = try? ParentLocation.reference(of: image),
                let next = try? FileParentResolver().resolvePath(reference, of: current)
            else { return }
            walked.append(next)
            current = next
        }
    }

    /// Writes the footer at `bytes − 512` (blktap `modify -s`), for a VHD on a fixed-size
    /// volume. It may not cut into the image's data.
    public static func setPhysicalSize(path: String, bytes: UInt64) throws(VHDError) {
        let image = try FileAccess.image(path, writable: true)
        guard bytes >= image.physicalUtilisation else {
            throw .invalidArgument("failed to set physical size to \(bytes): \(image.physicalUtilisation) bytes are in use")
        }
        let footer = image.footer.encoded()
        try VHDError.wrap { () throws(BlockIOError) in
            try image.store.write(footer, at: bytes - UInt64(Footer.size))
            try image.store.flush()
        }
    }

    /// Marks every block unused, clears the batmap and cuts the file after its metadata
    /// (blktap `modify -z`, SM's `killData`).
    public static func killData(path: String) throws(VHDError) {
        try killData(of: FileAccess.image(path, writable: true))
    }

    /// `killData(path:)` for an open, writable image.
    public static func killData(of image: Image) throws(VHDError) {
        guard let header = image.header else {
            throw .unsupported(image: image.name, operation: "killing the data of a fixed disk", errno: 22)
        }
        let bat = BlockAllocationTable(count: Int(header.maxTableEntries))
        var writes: [(offset: UInt64, bytes: [UInt8])] = [(header.tableOffset, bat.encoded())]
        var batmapHeader = image.batmapHeader
        let map = [UInt8](repeating: 0, count: image.batmap.count)
        if var updated = batmapHeader {
            updated.checksum = BatmapHeader.checksum(of: map, currentSize: image.virtualSize, version: updated.version)
            batmapHeader = updated
            writes.append((updated.mapOffset, map))
            writes.append((Layout.batmapHeaderOffset(header: header), updated.encoded()))
        }
        let endOfHeaders = image.endOfHeaders
        try image.rewriteMetadata(writes) { state in
            state.bat = bat
            state.batmap = map
            state.batmapHeader = batmapHeader
            state.blocks = [:]
            state.endOfData = endOfHeaders
        }
        try image.writePrimaryFooter(image.footer)
        try image.flush()
    }
}

extension Image {
    /// Performs metadata writes in order under the writer lock, then updates the in-memory
    /// state to match.
    func rewriteMetadata(_ writes: [(offset: UInt64, bytes: [UInt8])], update: (inout State) -> Void) throws(VHDError) {
        guard options.writable else { throw .readOnly(image: name) }
        try writer.withLock { (_: inout Void) throws(VHDError) in
            for write in writes {
                try VHDError.wrap { () throws(BlockIOError) in try store.write(write.bytes, at: write.offset) }
            }
            try VHDError.wrap { () throws(BlockIOError) in try store.flush() }
            state.withLock { update(&$0) }
        }
    }
}
