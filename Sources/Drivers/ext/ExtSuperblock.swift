import BlockIO
import SM

/// The few fields of an ext2/3/4 superblock that probe and attach need: whether a device holds
/// an ext file system, its UUID (an ext SR's file system carries the SR's uuid) and label, and
/// its size. Layout from the kernel's `struct ext4_super_block` (fs/ext4/ext4.h): the superblock
/// starts 1024 bytes in; fields little-endian.
struct ExtSuperblock: Hashable, Sendable {
    /// Where the superblock starts and how much of it is read.
    static let offset: UInt64 = 1024
    static let size = 1024
    /// `s_magic`.
    static let magic: UInt16 = 0xEF53
    /// The label `sr_create` gives an ext SR's file system (`mkfs.ext4 -L`, at most 16 bytes).
    static let srLabel = "XSLocalEXT"

    /// `s_uuid`, lower-case 8-4-4-4-12.
    var uuid: String
    /// `s_volume_name`, up to its first NUL.
    var label: String
    /// Blocks × block size.
    var byteCount: UInt64

    /// Decodes a superblock (`bytes` starts at the superblock, not the device); nil when the
    /// magic is not ext's or the block size is absurd.
    init?(decoding bytes: [UInt8]) {
        guard bytes.count >= 0x160 else { return nil }
        func little<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            var value: T = 0
            for index in 0..<MemoryLayout<T>.size { value |= T(bytes[offset + index]) << (8 * index) }
            return value
        }
        guard little(0x38, UInt16.self) == Self.magic else { return nil }
        let logBlockSize = little(0x18, UInt32.self)
        guard logBlockSize <= 6 else { return nil }
        let incompatible = little(0x60, UInt32.self)
        var blocks = UInt64(little(0x04, UInt32.self))
        if incompatible & 0x80 != 0 { blocks |= UInt64(little(0x150, UInt32.self)) << 32 }
        byteCount = blocks.multipliedReportingOverflow(by: UInt64(1024) << logBlockSize).partialValue
        let hex = bytes[0x68..<0x78].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
        uuid = [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(
            separator: "-")
        label = String(decoding: bytes[0x78..<0x88].prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Reads the superblock of the device or image file at `path`, with the device's own size.
    ///
    /// - Returns: nil when `path` holds no ext file system.
    /// - Throws: `SRError` when `path` cannot be opened or read.
    static func read(device path: String) throws(SRError) -> (superblock: ExtSuperblock?, deviceSize: UInt64) {
        let store: FileBlockStore
        do { store = try FileBlockStore(path: path, readOnly: true) } catch {
            throw SRError(.configDeviceInvalid, opterr: "cannot open \(path): \(error)")
        }
        guard store.size >= offset + UInt64(size) else { return (nil, store.size) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        do { try store.read(into: buffer, at: offset) } catch {
            throw SRError(.eio, opterr: "reading the superblock of \(path): \(error)")
        }
        return (ExtSuperblock(decoding: Array(buffer)), store.size)
    }
}
