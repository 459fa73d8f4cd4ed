import BlockIO
import Testing
import VHDFormat

@testable import VHD

@Suite struct CreateReuseTests {
    static let capacity: UInt64 = 64 << 30
    static let parent = ParentSpec(
        uuid: .random(), timestamp: VHDTimestamp(unixTime: 1_700_000_000), name: "base.vhd", relativePath: "./base.vhd")

    static func spare() throws -> MemoryBlockStore {
        let store = MemoryBlockStore()
        let placeholder = ParentSpec(uuid: .null, timestamp: VHDTimestamp(unixTime: 0), name: "", relativePath: "")
        try Create.write(on: store, options: .init(virtualSize: capacity, preallocatedSize: capacity, parent: placeholder))
        return store
    }

    static func contents(_ store: any BlockStore) throws -> [UInt8] { try store.read(count: Int(store.size), at: 0) }

    @Test func aReusedSpareIsByteForByteTheImageCreateWouldWrite() throws {
        let options = Create.Options(
            virtualSize: 10 << 30, preallocatedSize: Self.capacity, parent: Self.parent, uuid: .random(),
            timestamp: VHDTimestamp(unixTime: 1_800_000_000))
        let reused = try Self.spare()
        try Create.reuse(emptyImageOn: reused, options: options)
        let fresh = MemoryBlockStore()
        try Create.write(on: fresh, options: options)
        #expect(try Self.contents(reused) == Self.contents(fresh))
        let image = try Image.open(store: reused, name: "leaf.vhd", options: .readOnly)
        #expect(image.virtualSize == 10 << 30)
        #expect(image.header?.parentName == "base.vhd")
    }

    @Test func refusesAnImageWithABlockOrAnotherLayoutAndWritesNothing() throws {
        let options = Create.Options(virtualSize: 1 << 30, preallocatedSize: Self.capacity, parent: Self.parent)
        // A block was written: the image ends past its headers.
        let used = try Self.spare()
        let image = try Image.open(store: used, name: "spare", options: .readWrite)
        try [UInt8](repeating: 7, count: 512).withUnsafeBytes { try image.write($0, at: 0) }
        let before = try Self.contents(used)
        #expect(throws: VHDError.self) { try Create.reuse(emptyImageOn: used, options: options) }
        #expect(try Self.contents(used) == before)
        // Made for another capacity: its BAT has another number of entries.
        let other = try Self.spare()
        let smaller = Create.Options(virtualSize: 1 << 30, preallocatedSize: 32 << 30, parent: Self.parent)
        let otherBefore = try Self.contents(other)
        #expect(throws: VHDError.self) { try Create.reuse(emptyImageOn: other, options: smaller) }
        #expect(try Self.contents(other) == otherBefore)
        // Garbage where the headers should be.
        let garbage = MemoryBlockStore()
        try garbage.write([UInt8](repeating: 0xAB, count: 4096), at: 0)
        #expect(throws: VHDError.self) { try Create.reuse(emptyImageOn: garbage, options: options) }
    }
}
