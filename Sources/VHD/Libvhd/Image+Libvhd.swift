import BlockIO
import VHDFormat

extension Image {
    /// The image as blktap's libvhd reads it after `vhd_open`: the BAT, batmap, blocks and
    /// locators read on demand, with libvhd's rules and errno values, whatever `open` checked.
    ///
    /// `check` and the read-only `vhd-util` commands report on damaged images through this
    /// view (of an image opened with `.libvhd` validation), so they reach the same verdicts,
    /// in the same words, as blktap.
    public var libvhd: Libvhd { Libvhd(image: self) }

    /// blktap's accessors over one open image (`Image.libvhd`).
    public struct Libvhd: Sendable {
        public let image: Image
        /// The footer `open` chose.
        public let footer: Footer
        /// The dynamic header of a dynamic or differencing disk; nil for other types.
        public let header: DynamicHeader?

        init(image: Image) {
            self.image = image
            self.footer = image.footer
            self.header = image.header
        }

        /// blktap's hard-coded block shift: libvhd sizes the BAT in 2 MiB blocks whatever the header says.
        static let blktapBlockShift: UInt64 = 21

        /// The name the image was opened by (its path for a file).
        public var path: String { image.name }
        /// The size of the file in bytes.
        public var fileSize: UInt64 { image.store.size }
        /// Whether the disk has a dynamic header (`vhd_type_dynamic`).
        public var isDynamic: Bool { header != nil }
        /// Whether the footer says differencing (type 4).
        public var isDifferencing: Bool { footer.diskTypeValue == DiskType.differencing.rawValue }
        /// A differencing disk whose parent is a raw file (null parent UUID, `vhd_parent_raw`).
        public var hasRawParent: Bool { header?.parentUUID.isNull ?? false }
        /// Sectors per block (`spb`).
        public var sectorsPerBlock: UInt64 { UInt64(header?.blockSize ?? 0) >> 9 }
        /// Sectors of each block's bitmap (`bm_secs`, at least one).
        public var bitmapSectors: UInt64 { Self.sectorsNoZero(sectorsPerBlock >> 3) }

        /// `secs_round_up_no_zero`: sectors holding `bytes`, truncated to 32 bits, at least one.
        public static func sectorsNoZero(_ bytes: UInt64) -> UInt64 {
            let sectors = UInt64(UInt32(truncatingIfNeeded: (bytes &+ 511) >> 9))
            return sectors == 0 ? 1 : sectors
        }

        // MARK: BAT

        /// The BAT entries libvhd reads (`vhd_get_bat`): `ceil(curr_size / 2 MiB)` of them.
        ///
        /// - Throws: `.invalid` for a fixed disk or a BAT too small for the size, `.io` on a short read.
        public func bat() throws(VHDError) -> [UInt32] {
            guard let header else { throw .invalid(image: path, problem: "not a dynamic disk") }
            let blocks = (footer.currentSize &+ ((1 << Self.blktapBlockShift) - 1)) >> Self.blktapBlockShift
            guard UInt64(header.maxTableEntries) >= blocks else {
                throw .invalid(
                    image: path, problem: "more VHD blocks (\(blocks)) than possible (\(header.maxTableEntries))")
            }
            let padded = Self.sectorsNoZero(blocks * 4) * 512
            let bytes = try read(count: Int(padded), at: header.tableOffset)
            return (0..<Int(blocks)).map { index in
                var value: UInt32 = 0
                for byte in bytes[index * 4..<index * 4 + 4] { value = value << 8 | UInt32(byte) }
                return value
            }
        }

        // MARK: Batmap

        /// `vhd_has_batmap`: dynamic, created by tap, and version 1.2+ (or 1.1 with a valid batmap header).
        public var hasBatmap: Bool {
            guard isDynamic, footer.isTapCreated, footer.creatorVersion > 0x0000_0001 else { return false }
            if footer.creatorVersion >= 0x0001_0002 { return true }
            guard let header = try? batmapHeader() else { return false }
            return header.hasValidCookie && header.version <= BatmapHeader.currentVersion
        }

        /// The batmap header at its implicit place after the BAT, unvalidated (`vhd_read_batmap_header`).
        public func batmapHeader() throws(VHDError) -> BatmapHeader {
            guard let header else { throw .invalid(image: path, problem: "not a dynamic disk") }
            let bytes = try read(count: BatmapHeader.size, at: Layout.batmapHeaderOffset(header: header))
            do { return try BatmapHeader(decoding: bytes) } catch {
                throw .invalid(image: path, problem: error.description)
            }
        }

        /// `vhd_get_batmap`: the header (cookie and version checked) and the map bytes the
        /// checksum covers, checksum verified.
        public func batmap() throws(VHDError) -> (header: BatmapHeader, map: [UInt8]) {
            guard hasBatmap else { throw .invalid(image: path, problem: "no batmap") }
            let batmapHeader = try batmapHeader()
            guard batmapHeader.hasValidCookie, batmapHeader.version <= BatmapHeader.currentVersion else {
                throw .invalid(image: path, problem: "invalid batmap header")
            }
            let mapSize = Self.sectorsNoZero(footer.currentSize >> 24) * 512
            // blktap asserts (and aborts) here; failing the read is the safe equivalent.
            guard UInt64(batmapHeader.mapSectors) * 512 >= mapSize else {
                throw .invalid(image: path, problem: "batmap smaller than the disk needs")
            }
            let map = try read(count: Int(mapSize), at: batmapHeader.mapOffset)
            let checksum = BatmapHeader.checksum(of: map, currentSize: footer.currentSize, version: batmapHeader.version)
            guard checksum == batmapHeader.checksum else {
                throw .invalid(image: path, problem: "invalid batmap checksum")
            }
            return (batmapHeader, map)
        }

        /// `vhd_batmap_test`: whether the batmap marks `block` full.
        public static func batmapTest(_ batmap: (header: BatmapHeader, map: [UInt8]), block: UInt64) -> Bool {
            guard block < UInt64(batmap.header.mapSectors &<< 12), Int(block >> 3) < batmap.map.count else {
                return false
            }
            return batmap.map[Int(block >> 3)] & (0x80 >> UInt8(block & 7)) != 0
        }

        // MARK: Extents of metadata and data

        /// `vhd_end_of_headers`: the first byte after all metadata; 0 for a fixed disk.
        public func endOfHeaders() throws(VHDError) -> UInt64 {
            guard let header else { return 0 }
            var end = footer.dataOffset &+ UInt64(DynamicHeader.size)
            let batEnd = header.tableOffset &+ Self.sectorsNoZero(UInt64(header.maxTableEntries) * 4) * 512
            end = max(end, batEnd)
            if hasBatmap {
                let batmapHeader = try batmap().header
                end = max(end, Layout.batmapHeaderOffset(header: header) + 512)
                end = max(end, batmapHeader.mapOffset &+ UInt64(batmapHeader.mapSectors) * 512)
            }
            for locator in header.locators where locator.platformCodeValue != 0 {
                end = max(end, locator.dataOffset &+ Self.locatorSize(locator))
            }
            return end
        }

        /// `vhd_end_of_data`: after the last block or metadata; for a fixed disk, the footer offset.
        public func endOfData() throws(VHDError) -> UInt64 {
            guard isDynamic else { return fileSize >= 512 ? fileSize - 512 : 0 }
            var last = try endOfHeaders() >> 9
            for entry in try bat() where entry != BlockAllocationTable.unused {
                last = max(last, UInt64(entry) + sectorsPerBlock + bitmapSectors)
            }
            return last * 512
        }

        /// `vhd_get_phys_size`: end of data plus the footer (what `query -s` prints).
        public func physicalSize() throws(VHDError) -> UInt64 { try endOfData() + UInt64(Footer.size) }

        /// `vhd_parent_locator_size`: `data_space` read as sectors below 512, as bytes when a
        /// multiple of 512, else 0.
        public static func locatorSize(_ locator: ParentLocator) -> UInt64 {
            if locator.dataSpace < 512 { return UInt64(locator.dataSpace) * 512 }
            return locator.dataSpace % 512 == 0 ? UInt64(locator.dataSpace) : 0
        }

        // MARK: Blocks

        /// `vhd_read_bitmap`: the sector bitmap bytes of an allocated block.
        public func readBitmap(block: Int) throws(VHDError) -> [UInt8] {
            let entry = try allocatedEntry(block)
            return try read(count: Int(Self.sectorsNoZero(sectorsPerBlock >> 3) * 512), at: UInt64(entry) * 512)
        }

        /// `vhd_read_block`: the data of an allocated block; the part past the footer offset
        /// reads as zeros.
        public func readBlock(block: Int) throws(VHDError) -> [UInt8] {
            let entry = try allocatedEntry(block)
            let blockSize = sectorsPerBlock * 512
            let offset = (UInt64(entry) + bitmapSectors) * 512
            let end = fileSize >= 512 ? fileSize - 512 : 0
            var count = blockSize
            if end < offset + blockSize { count = end > offset ? end - offset : 0 }
            var data = try read(count: Int(count), at: offset)
            data += [UInt8](repeating: 0, count: Int(blockSize - count))
            return data
        }

        private func allocatedEntry(_ block: Int) throws(VHDError) -> UInt32 {
            let bat = try bat()
            guard block < bat.count else {
                throw .outOfRange(image: path, offset: UInt64(block), count: 1, size: UInt64(bat.count))
            }
            guard bat[block] != BlockAllocationTable.unused else {
                throw .invalid(image: path, problem: "block \(block) not allocated")
            }
            return bat[block]
        }

        // MARK: Reads

        /// Exactly `count` bytes at `offset`; a read reaching past the end is libvhd's short read, `-EIO`.
        func read(count: Int, at offset: UInt64) throws(VHDError) -> [UInt8] {
            try Self.readExactly(image.store, name: path, count: count, at: offset)
        }

        static func readExactly(_ store: any BlockStore, name: String, count: Int, at offset: UInt64) throws(VHDError)
            -> [UInt8]
        {
            try requireInStore(store, name: name, count: count, at: offset)
            do { return try store.read(count: count, at: offset) } catch { throw .io(error) }
        }

        /// Throws libvhd's short read (`-EIO`) when `count` bytes at `offset` reach past the end.
        static func requireInStore(_ store: any BlockStore, name: String, count: Int, at offset: UInt64) throws(VHDError) {
            let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
            guard !overflow, end <= store.size else {
                throw .io(.shortRead(store: name, offset: offset, expected: count, got: 0))
            }
        }
    }
}
