import BlockIO
import TestSupport
import Testing

@testable import VHD

/// A chain re-opened after a pause takes the parents it already has open when nothing changed
/// their files, and reads again any that changed.
@Suite struct ChainReuseTests {
    func openChain(_ path: String, reusing: [Image] = []) throws -> Chain {
        let leaf = try Image.open(store: try FileBlockStore(path: path, readOnly: true), name: path)
        return try Chain.open(leaf: leaf, resolver: FileParentResolver(), reusing: reusing)
    }

    func read(_ chain: Chain, at offset: UInt64) throws -> UInt8 {
        var bytes = [UInt8](repeating: 0xEE, count: 512)
        try bytes.withUnsafeMutableBytes { try chain.read(into: $0, at: offset) }
        return bytes[0]
    }

    @Test func unchangedParentsAreReusedAndAChangedOneIsReadAgain() throws {
        let directory = try TemporaryDirectory()
        let base = directory.path(for: "base.vhd")
        let image = try Create.image(on: try FileBlockStore.create(path: base), name: base, options: .init(virtualSize: 64 << 20))
        try [UInt8](repeating: 1, count: 512).withUnsafeBytes { try image.write($0, at: 0) }
        let middle = try Snapshot.file(at: directory.path(for: "middle.vhd"), parent: base)
        try [UInt8](repeating: 2, count: 512).withUnsafeBytes { try middle.write($0, at: 4 << 20) }
        try middle.flush()
        _ = try Snapshot.file(at: directory.path(for: "leaf.vhd"), parent: directory.path(for: "middle.vhd"))

        let first = try openChain(directory.path(for: "leaf.vhd"))
        #expect(first.layers.count == 3)
        let second = try openChain(directory.path(for: "leaf.vhd"), reusing: first.layers)
        #expect(second.layers[1] === first.layers[1] && second.layers[2] === first.layers[2])
        #expect(second.layers[0] !== first.layers[0], "the leaf is always opened afresh")

        // The middle layer changes (as a GC coalescing into it would write it): it is read again,
        // and what it now holds is what the chain reads.
        try [UInt8](repeating: 3, count: 512).withUnsafeBytes { try middle.write($0, at: 8 << 20) }
        try middle.flush()
        let third = try openChain(directory.path(for: "leaf.vhd"), reusing: second.layers)
        #expect(third.layers[1] !== second.layers[1])
        #expect(third.layers[2] === second.layers[2])
        #expect(try read(third, at: 8 << 20) == 3)
        #expect(try read(third, at: 4 << 20) == 2)
        #expect(try read(third, at: 0) == 1)
        #expect(try read(second, at: 8 << 20) == 0, "the old chain's cached view of the middle layer is stale")
    }
}
