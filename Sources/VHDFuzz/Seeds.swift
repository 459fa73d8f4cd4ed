#if !FUZZING
import BlockIO
import VHD
import VHDFormat

/// A few small, valid VHDs for the fuzzer to start from: each exercises a different part of
/// the format (a bitmap-bearing dynamic disk, blktap's batmap, parent locators, a fixed disk).
/// Small blocks keep the inputs a few KiB, so libFuzzer mutates metadata, not data.
enum Seeds {
    static func write(to directory: String) throws {
        try image(directory + "/dynamic-4k-blocks.vhd", size: 64 << 10, blockSize: 4096, writes: [0, 31 << 10, 63 << 10])
        try image(directory + "/dynamic-empty.vhd", size: 5 << 20, blockSize: DynamicHeader.defaultBlockSize, writes: [])
        try image(directory + "/dynamic-odd-size.vhd", size: 40_960 + 512, blockSize: 8192, writes: [40_960])
        try image(directory + "/fixed.vhd", size: 8192, type: .fixed, writes: [4096])
        let parent = ParentSpec(
            uuid: VHDUUID(bytes: Array(1...16)), timestamp: VHDTimestamp(secondsSince2000: 1000), name: "base.vhd",
            relativePath: "./base.vhd")
        try image(directory + "/differencing.vhd", size: 32 << 10, blockSize: 4096, parent: parent, writes: [4096, 9216])
        // Its own parent by UUID, so the fuzzer's self-resolving chains (`openChain`) start deep.
        var selfParent = parent
        selfParent.uuid = VHDUUID(bytes: Array(repeating: 0x42, count: 16))
        try image(directory + "/differencing-self.vhd", size: 48 << 10, blockSize: 8192, parent: selfParent, writes: [0, 20_480])
    }

    static func image(
        _ path: String, size: UInt64, type: DiskType = .dynamic, blockSize: UInt32 = 4096, parent: ParentSpec? = nil,
        writes: [UInt64]
    ) throws {
        let store = try FileBlockStore.create(path: path, mode: .truncate)
        let options = Create.Options(
            virtualSize: size, diskType: type, blockSize: blockSize, parent: parent,
            uuid: VHDUUID(bytes: Array(repeating: 0x42, count: 16)), timestamp: VHDTimestamp(secondsSince2000: 2000))
        let image = try Create.image(on: store, name: path, options: options)
        for (index, offset) in writes.enumerated() {
            let sector = [UInt8](repeating: UInt8(index + 1), count: 512)
            try sector.withUnsafeBytes { try image.write($0, at: offset) }
        }
        try image.flush()
    }
}
#endif
