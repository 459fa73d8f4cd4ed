import BlockIO
import VHDFormat

/// blktap `vhd-util fill`: allocate every block of an image.
public enum Fill {
    /// Reads each block through the chain and writes it into the leaf, so that the leaf
    /// allocates every block and no longer depends on its parents' data.
    public static func chain(_ chain: Chain, progress: ((Double) -> Void)? = nil) throws(VHDError) {
        let leaf = chain.leaf
        guard leaf.diskType.isSparse else { return }
        let blocks = leaf.usedBlockCount
        var buffer = [UInt8](repeating: 0, count: Int(leaf.blockSize))
        for block in 0..<blocks {
            let start = UInt64(block) * leaf.blockSize
            let count = Int(min(leaf.blockSize, roundUp(leaf.virtualSize, to: sectorSize) - start))
            let readable = Int(min(UInt64(count), leaf.virtualSize - start))
            try buffer.withMutableBytes { (bytes) throws(VHDError) in
                try chain.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[..<readable]), at: start)
                for index in readable..<count { bytes[index] = 0 }
                try leaf.write(UnsafeRawBufferPointer(rebasing: bytes[..<count]), at: start)
            }
            progress?(Double(block + 1) / Double(max(blocks, 1)))
        }
        try leaf.flush()
    }

    public static func file(path: String, progress: ((Double) -> Void)? = nil) throws(VHDError) {
        let leaf = try FileAccess.image(path, writable: true)
        try chain(try Chain.open(leaf: leaf, resolver: FileParentResolver()), progress: progress)
    }

    /// blktap `fill -b`: gives every unallocated block in the sector range a place at the end
    /// of the file and an all-ones bitmap, without writing data (the data area reads as
    /// zeros, being past the old end of the file). Unlike blktap, the footer is then
    /// rewritten, so the image stays valid.
    public static func bitmapsOnly(
        path: String, fromSector: UInt64? = nil, toSector: UInt64? = nil, ignoreTwoTerabyteLimit: Bool = false
    ) throws(VHDError) {
        let image = try FileAccess.image(path, writable: true)
        guard let header = image.header else { return }
        let spb = header.sectorsPerBlock
        let totalSectors = divideRoundingUp(image.virtualSize, sectorSize)
        guard totalSectors > 0 else { return }
        let first = Int((fromSector ?? 0) / spb)
        let last = Int(min(toSector ?? (totalSectors - 1), totalSectors - 1) / spb)
        guard first <= last else { return }
        var bat = image.bat
        var end = image.endOfData
        let bitmap = SectorBitmap(sectorCount: Int(spb), byteCount: Int(image.bitmapSize), allSet: true)
        let limit: UInt64 = ignoreTwoTerabyteLimit ? UInt64(UInt32.max - 1) : (2 << 40) / sectorSize
        var writes: [(offset: UInt64, bytes: [UInt8])] = []
        for block in first...last where !bat.isAllocated(block) {
            let sector = Layout.newBlockSector(endOfData: end, bitmapSectors: image.bitmapSize / sectorSize)
            guard sector + image.bitmapSize / sectorSize + spb <= limit else {
                throw .noSpace(image: path, needed: sector * sectorSize, available: limit * sectorSize)
            }
            bat[block] = UInt32(sector)
            writes.append((sector * sectorSize, bitmap.bytes))
            end = sector * sectorSize + image.bitmapSize + image.blockSize
        }
        writes.append((header.tableOffset, bat.encoded()))
        let finalEnd = end
        try image.rewriteMetadata(writes) { state in
            state.bat = bat
            state.blocks = [:]
            state.endOfData = finalEnd
        }
        try image.writePrimaryFooter(image.footer)
        try image.flush()
    }
}
