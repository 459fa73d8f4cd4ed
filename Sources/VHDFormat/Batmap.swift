/// blktap's batmap (`struct dd_batmap_hdr`, cookie `tdbatmap`): a 512-byte header right after
/// the BAT and a bitmap, one bit per block, set when the block's sector bitmap is all ones.
/// Only images created by tap with creator version ≥ 1.2 carry one (`vhd_has_batmap`).
public struct BatmapHeader: Hashable, Sendable {
    public static let size = 512
    public static let cookie = "tdbatmap"
    /// Batmap version 1.2, the one blktap writes; 1.1 summed the map as signed chars.
    public static let currentVersion: UInt32 = 0x0001_0002
    public static let version11: UInt32 = 0x0001_0001

    public var cookie: [UInt8]
    /// Absolute byte offset of the map.
    public var mapOffset: UInt64
    /// Sectors of the map.
    public var mapSectors: UInt32
    public var version: UInt32
    public var checksum: UInt32
    /// A generic byte set by `vhd-util set -f marker`.
    public var marker: UInt8
    /// The encryption key hash: cookie (1 = set), nonce, SHA-256(nonce ‖ key).
    public var keyHashCookie: UInt8
    public var keyHashNonce: [UInt8]
    public var keyHashHash: [UInt8]
    public var reserved: [UInt8]

    public init(mapOffset: UInt64, mapSectors: UInt32) {
        cookie = Array(BatmapHeader.cookie.utf8)
        self.mapOffset = mapOffset
        self.mapSectors = mapSectors
        version = BatmapHeader.currentVersion
        checksum = 0
        marker = 0
        keyHashCookie = 0
        keyHashNonce = [UInt8](repeating: 0, count: 32)
        keyHashHash = [UInt8](repeating: 0, count: 32)
        reserved = [UInt8](repeating: 0, count: 418)
    }

    public init(decoding bytes: [UInt8]) throws(VHDFormatError) {
        guard bytes.count >= BatmapHeader.size else {
            throw .truncated(structure: "batmap header", expected: BatmapHeader.size, got: bytes.count)
        }
        cookie = bytes.bytes(at: 0, count: 8)
        mapOffset = bytes.bigEndianUInt64(at: 8)
        mapSectors = bytes.bigEndianUInt32(at: 16)
        version = bytes.bigEndianUInt32(at: 20)
        checksum = bytes.bigEndianUInt32(at: 24)
        marker = bytes[28]
        keyHashCookie = bytes[29]
        keyHashNonce = bytes.bytes(at: 30, count: 32)
        keyHashHash = bytes.bytes(at: 62, count: 32)
        reserved = bytes.bytes(at: 94, count: 418)
    }

    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: BatmapHeader.size)
        bytes.setBytes(cookie, at: 0)
        bytes.setBigEndian(mapOffset, at: 8)
        bytes.setBigEndian(mapSectors, at: 16)
        bytes.setBigEndian(version, at: 20)
        bytes.setBigEndian(checksum, at: 24)
        bytes[28] = marker
        bytes[29] = keyHashCookie
        bytes.setBytes(keyHashNonce, at: 30)
        bytes.setBytes(keyHashHash, at: 62)
        bytes.setBytes(reserved, at: 94)
        return bytes
    }

    public var hasValidCookie: Bool { cookie == Array(BatmapHeader.cookie.utf8) }
    public var hasKeyHash: Bool { keyHashCookie == 1 }

    /// Sectors a map needs for `blocks` blocks: one bit a block, at least one sector.
    public static func mapSectors(forBlocks blocks: UInt64) -> UInt32 {
        UInt32(max(1, divideRoundingUp(divideRoundingUp(blocks, 8), sectorSize)))
    }

    /// The bytes of the map the checksum covers, as blktap's `vhd_checksum_batmap` computes
    /// them: `secs_round_up_no_zero(curr_size >> 24)` sectors. The floor makes the last bits
    /// of disks just over a multiple of 8 GiB fall outside the sum; that is blktap's rule.
    public static func checksumSpan(currentSize: UInt64) -> Int {
        Int(max(1, divideRoundingUp(currentSize >> 24, sectorSize)) * sectorSize)
    }

    /// The checksum of `map` for a disk of `currentSize` bytes under `version`'s summing rule.
    public static func checksum(of map: [UInt8], currentSize: UInt64, version: UInt32) -> UInt32 {
        let span = min(map.count, checksumSpan(currentSize: currentSize))
        let covered = Array(map.prefix(span)) + [UInt8](repeating: 0, count: checksumSpan(currentSize: currentSize) - span)
        if version == BatmapHeader.version11 { return Checksum.computeSigned(covered) }
        return Checksum.compute(covered, skippingFieldAt: nil)
    }
}
