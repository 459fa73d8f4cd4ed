import BlockIO
import VHD
import VHDFormat

/// Chains built from one input: the input is its own parent, under a new name at each level,
/// so `Chain.open` meets hostile parent references, UUIDs, sizes and block sizes in every
/// layer, and finally a name it has seen (a cycle) or a UUID that does not match.
extension FuzzInput {
    /// Resolves every reference to another copy of the input, named by depth; past `depth`
    /// levels it hands back the first name again, which the chain must see as a cycle.
    struct SelfResolver: ParentResolver {
        let bytes: [UInt8]
        let depth: Int

        func openParent(_ reference: String, of child: String, writable: Bool) throws(VHDError)
            -> (name: String, store: any BlockStore)
        {
            let level = (Int(child.split(separator: "-").last ?? "") ?? 0) + 1
            let name = level > depth ? "layer-1" : "layer-\(level)"
            return (name, MemoryBlockStore(name: name, bytes: bytes))
        }
    }

    /// Opens the input as the leaf of a chain of copies of itself and reads through it.
    static func openChain(_ bytes: [UInt8]) {
        let store = MemoryBlockStore(name: "layer-0", bytes: bytes)
        guard let leaf = try? Image.open(store: store, name: "layer-0", options: .readOnly), leaf.isDifferencing,
            let chain = try? Chain.open(leaf: leaf, resolver: SelfResolver(bytes: bytes, depth: 3), depthLimit: 8)
        else { return }
        let size = chain.virtualSize
        var buffer = [UInt8](repeating: 0, count: 8192)
        for offset in [0, size / 3, size &- 8192] where offset < size {
            let count = Int(min(UInt64(buffer.count), size - offset))
            buffer.withUnsafeMutableBytes { raw in
                _ = try? chain.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[..<count]), at: offset)
            }
        }
        if size <= 1 << 26 { _ = try? chain.allocatedRanges() }
    }
}
