import BlockIO
import VHDFormat

/// Where converted data goes; data arrives in increasing offsets, all-zero chunks omitted.
public protocol ConversionSink {
    /// The chunk size the sink wants (a block for a VHD).
    var chunkSize: UInt64 { get }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(VHDError)
    func finish() throws(VHDError)
}

/// A raw file (sparse where nothing was written), or a fixed VHD when given a footer.
/// The file is set to its final size first: writes inside a file's size cost the file system
/// less than writes that extend it.
struct RawSink: ConversionSink {
    let store: any BlockStore
    let size: UInt64
    let footer: Footer?
    var chunkSize: UInt64 { 2 << 20 }

    init(store: any BlockStore, size: UInt64, footer: Footer?) throws(VHDError) {
        self.store = store
        self.size = size
        self.footer = footer
        if store.canGrow {
            try VHDError.wrap { () throws(BlockIOError) in try store.resize(to: size) }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(VHDError) {
        try VHDError.wrap { () throws(BlockIOError) in try store.write(bytes, at: offset) }
    }

    func finish() throws(VHDError) {
        try VHDError.wrap { () throws(BlockIOError) in
            // A fixed-size store (an LV) keeps its size, rounded up past the data.
            if store.canGrow, store.size != size { try store.resize(to: size) }
            if let footer { try store.write(footer.encoded(), at: store.canGrow ? size : store.size - UInt64(Footer.size)) }
        }
    }
}

/// A new dynamic VHD written front to back: metadata first, each non-zero block appended
/// with an all-ones bitmap, then the BAT, batmap and footer once every block is in place.
final class DynamicVHDSink: ConversionSink {
    let store: any BlockStore
    let footer: Footer
    let header: DynamicHeader
    let layout: Layout.NewImage
    var bat: BlockAllocationTable
    var batmap: [UInt8]
    var end: UInt64
    var staging: [UInt8]
    var chunkSize: UInt64 { UInt64(header.blockSize) }

    init(
        store: any BlockStore, size: UInt64, blockSize: UInt32 = DynamicHeader.defaultBlockSize,
        preallocatedSize: UInt64? = nil
    ) throws(VHDError) {
        let options = Create.Options(virtualSize: size, blockSize: blockSize, preallocatedSize: preallocatedSize)
        try Create.validate(options)
        let metadata = Create.sparseMetadata(options)
        let entries = UInt32(Layout.blockCount(size: max(size, preallocatedSize ?? 0), blockSize: blockSize))
        self.store = store
        layout = Layout.newImage(maxTableEntries: entries, locatorCount: 0)
        guard let footer = try? Footer(decoding: Array(metadata.prefix(Footer.size))),
            let header = try? DynamicHeader(decoding: Array(metadata[512..<1536]))
        else { throw .invalidArgument("could not lay out a \(size)-byte VHD") }
        self.footer = footer
        self.header = header
        bat = BlockAllocationTable(count: Int(entries))
        batmap = [UInt8](repeating: 0, count: Int(layout.batmapMapSectors) * Int(sectorSize))
        end = layout.endOfHeaders
        staging = [UInt8](repeating: 0, count: Int(header.bitmapSize) + Int(blockSize))
        let bitmap = SectorBitmap(sectorCount: Int(header.sectorsPerBlock), byteCount: Int(header.bitmapSize), allSet: true)
        staging.replaceSubrange(0..<bitmap.bytes.count, with: bitmap.bytes)
        try VHDError.wrap { () throws(BlockIOError) in try store.write(Array(metadata.prefix(Int(layout.endOfHeaders))), at: 0) }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(VHDError) {
        let block = Int(offset / chunkSize)
        let bitmapSize = Int(header.bitmapSize)
        let sector = Layout.newBlockSector(endOfData: end, bitmapSectors: header.bitmapSize / sectorSize)
        staging.withUnsafeMutableBytes { staging in
            UnsafeMutableRawBufferPointer(rebasing: staging[bitmapSize..<bitmapSize + bytes.count]).copyMemory(from: bytes)
            if bytes.count < Int(chunkSize) {
                UnsafeMutableRawBufferPointer(rebasing: staging[(bitmapSize + bytes.count)...])
                    .initializeMemory(as: UInt8.self, repeating: 0)
            }
        }
        try staging.withBytes { (staging) throws(VHDError) in
            try VHDError.wrap { () throws(BlockIOError) in try store.write(staging, at: sector * sectorSize) }
        }
        bat[block] = UInt32(sector)
        batmap[block / 8] |= 0x80 >> UInt8(block % 8)
        end = sector * sectorSize + UInt64(staging.count)
    }

    func finish() throws(VHDError) {
        var batmapHeader = BatmapHeader(mapOffset: layout.batmapMapOffset, mapSectors: layout.batmapMapSectors)
        batmapHeader.checksum = BatmapHeader.checksum(of: batmap, currentSize: footer.currentSize, version: batmapHeader.version)
        try VHDError.wrap { () throws(BlockIOError) in
            try store.write(bat.encoded(), at: layout.batOffset)
            try store.write(batmap, at: layout.batmapMapOffset)
            try store.write(batmapHeader.encoded(), at: layout.batmapHeaderOffset)
            // On a fixed-size store (an LV) the footer is its last sector, as blktap keeps it.
            guard store.canGrow else { return try store.write(footer.encoded(), at: store.size - UInt64(Footer.size)) }
            try store.write(footer.encoded(), at: end)
            if store.size > end + UInt64(Footer.size) { try store.resize(to: end + UInt64(Footer.size)) }
        }
    }
}
