import BlockIO
import VHDFormat

/// A VHD and its ancestors, leaf first, read copy-on-write: each sector comes from the
/// nearest layer whose bitmap holds it, else from a raw base file, else reads as zeros.
/// Writes go to the leaf only.
public final class Chain: @unchecked Sendable {
    /// SM's default `MAX_CHAIN_SIZE`.
    public static let defaultDepthLimit = 30

    /// The VHD layers, leaf first.
    public let layers: [Image]
    /// The raw file a differencing disk with a null parent UUID reads from (blktap's raw parent).
    public let rawBase: (any BlockStore)?

    public init(layers: [Image], rawBase: (any BlockStore)? = nil) {
        precondition(!layers.isEmpty, "a chain has at least its leaf")
        self.layers = layers
        self.rawBase = rawBase
    }

    public var leaf: Image { layers[0] }
    public var virtualSize: UInt64 { leaf.virtualSize }
    /// blktap's chain depth (`query -d`): the VHDs, plus one for a raw base.
    public var depth: Int { layers.count + (rawBase == nil ? 0 : 1) }

    /// Opens `leaf` and every ancestor through `resolver`, checking that each parent's UUID is
    /// the one its child expects, that the walk never revisits an image, and that it stays
    /// within `depthLimit` images.
    /// Opens `leaf`'s chain. A parent whose file still has the identity one of `reusing` was
    /// opened with (nothing wrote, truncated, linked or renamed it since) is that image, not
    /// read again: a datapath resuming after a snapshot re-reads only the layers that changed,
    /// where each layer's BAT is 4 MiB at 2 TiB.
    public static func open(
        leaf: Image, resolver: any ParentResolver, depthLimit: Int = defaultDepthLimit, reusing: [Image] = []
    ) throws(VHDError) -> Chain {
        var layers = [leaf]
        var seen: Set<String> = [FileParentResolver.canonicalPath(leaf.name) ?? leaf.name]
        var current = leaf
        while current.isDifferencing {
            guard let header = current.header else { break }
            let reference = try ParentLocation.reference(of: current)
            let (parentName, store) = try resolver.openParent(reference, of: current.name, writable: false)
            if header.parentUUID.isNull {
                return Chain(layers: layers, rawBase: store)
            }
            if seen.contains(parentName) {
                throw .parentCycle(chain: layers.map(\.name) + [parentName])
            }
            seen.insert(parentName)
            let identity = store.identity
            let reused = identity == nil ? nil : reusing.first { $0.openedIdentity == identity }
            let parent: Image
            if let reused { parent = reused } else { parent = try Image.open(store: store, name: parentName, options: .readOnly) }
            if parent.uuid != header.parentUUID {
                throw .parentMismatch(child: current.name, parent: parentName, expected: header.parentUUID, found: parent.uuid)
            }
            layers.append(parent)
            if layers.count > depthLimit {
                throw .chainTooDeep(image: leaf.name, depth: layers.count, limit: depthLimit)
            }
            current = parent
        }
        return Chain(layers: layers)
    }

    /// Reads `buffer.count` bytes of the virtual disk at `offset` (any byte alignment).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(VHDError) {
        let count = UInt64(buffer.count)
        guard offset <= virtualSize, count <= virtualSize - offset else {
            throw .outOfRange(image: leaf.name, offset: offset, count: count, size: virtualSize)
        }
        try read(layer: 0, into: buffer, at: offset)
    }

    /// Reads from layer `index` downwards. Bytes past a layer's virtual size read as zeros,
    /// as blktap's chain read treats them.
    private func read(layer index: Int, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(VHDError) {
        guard !buffer.isEmpty else { return }
        guard index < layers.count else {
            try readBase(into: buffer, at: offset)
            return
        }
        let image = layers[index]
        let end = offset + UInt64(buffer.count)
        let within = min(end, max(offset, image.virtualSize))
        if within < end {
            UnsafeMutableRawBufferPointer(rebasing: buffer[Int(within - offset)...]).initializeMemory(as: UInt8.self, repeating: 0)
        }
        guard offset < within else { return }
        for extent in try image.extents(in: offset..<within) {
            let slice = UnsafeMutableRawBufferPointer(
                rebasing: buffer[Int(extent.range.lowerBound - offset)..<Int(extent.range.upperBound - offset)])
            if extent.isPresent {
                try image.readPresent(into: slice, at: extent.range.lowerBound)
            } else if image.isDifferencing {
                try read(layer: index + 1, into: slice, at: extent.range.lowerBound)
            } else {
                slice.initializeMemory(as: UInt8.self, repeating: 0)
            }
        }
    }

    private func readBase(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(VHDError) {
        guard let rawBase else {
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            return
        }
        let available = rawBase.size > offset ? min(UInt64(buffer.count), rawBase.size - offset) : 0
        if available > 0 {
            try VHDError.wrap { () throws(BlockIOError) in
                try rawBase.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<Int(available)]), at: offset)
            }
        }
        if Int(available) < buffer.count {
            UnsafeMutableRawBufferPointer(rebasing: buffer[Int(available)...]).initializeMemory(as: UInt8.self, repeating: 0)
        }
    }

    /// Writes `bytes` at `offset` into the leaf. Unaligned edges are completed with the
    /// chain's current contents (read-modify-write of the partial sectors).
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(VHDError) {
        let count = UInt64(bytes.count)
        guard offset <= virtualSize, count <= virtualSize - offset else {
            throw .outOfRange(image: leaf.name, offset: offset, count: count, size: virtualSize)
        }
        if offset % sectorSize == 0 && count % sectorSize == 0 {
            try leaf.write(bytes, at: offset)
            return
        }
        let start = offset / sectorSize * sectorSize
        let end = min(roundUp(offset + count, to: sectorSize), roundUp(virtualSize, to: sectorSize))
        var merged = [UInt8](repeating: 0, count: Int(end - start))
        let readable = min(end, virtualSize) - start
        try merged.withMutableBytes { (buffer) throws(VHDError) in
            try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<Int(readable)]), at: start)
            UnsafeMutableRawBufferPointer(rebasing: buffer[Int(offset - start)..<Int(offset - start + count)])
                .copyMemory(from: bytes)
        }
        try merged.withBytes { (buffer) throws(VHDError) in try leaf.write(buffer, at: start) }
    }

    /// The byte ranges some layer (or the raw base) holds data for, merged: what a sparse copy
    /// must transfer.
    public func allocatedRanges() throws(VHDError) -> [Range<UInt64>] {
        var ranges: [Range<UInt64>] = []
        for image in layers {
            ranges += try image.allocatedRanges().map { $0.clamped(to: 0..<virtualSize) }.filter { !$0.isEmpty }
        }
        if let rawBase {
            let limit = min(rawBase.size, virtualSize)
            ranges += try VHDError.wrap { () throws(BlockIOError) in try rawBase.allocatedRanges(in: 0..<limit) }
        }
        return RangeSet.merge(ranges)
    }
    /// The parts of `range` some layer (or the raw base) holds data for, merged; looks only at
    /// the blocks `range` touches.
    public func allocatedRanges(in range: Range<UInt64>) throws(VHDError) -> [Range<UInt64>] {
        var ranges: [Range<UInt64>] = []
        for image in layers {
            let within = range.clamped(to: 0..<image.virtualSize)
            ranges += try image.extents(in: within).filter(\.isPresent).map(\.range)
        }
        if let rawBase {
            let within = range.clamped(to: 0..<min(rawBase.size, virtualSize))
            if !within.isEmpty {
                ranges += try VHDError.wrap { () throws(BlockIOError) in try rawBase.allocatedRanges(in: within) }
            }
        }
        return RangeSet.merge(ranges)
    }
}

/// Merging of byte ranges.
enum RangeSet {
    static func merge(_ ranges: [Range<UInt64>]) -> [Range<UInt64>] {
        var result: [Range<UInt64>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) where !range.isEmpty {
            if let last = result.last, range.lowerBound <= last.upperBound {
                result[result.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }
}
