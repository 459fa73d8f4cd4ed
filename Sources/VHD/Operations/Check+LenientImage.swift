import BlockIO
import Glibc
import VHDFormat

/// A VHD file as blktap's libvhd sees it after `vhd_open(RDONLY | IGNORE_DISABLED)`: only the
/// footer, and for dynamic and differencing disks the header, are validated (libvhd's
/// `vhd_validate_footer` and `vhd_validate_header`); the BAT, batmap and locators are read on
/// demand with libvhd's rules and errno values.
///
/// `Image.open` is deliberately stricter (it refuses overlapping or out-of-file blocks). `check`
/// and the read-only `vhd-util` commands report on damaged images, so they need this view to
/// reach the same verdicts, in the same words, as blktap.
public final class LenientImage: @unchecked Sendable {
    /// How to open (libvhd's `VHD_OPEN_*` flags that matter to readers).
    public struct OpenOptions: Sendable {
        /// Accept a disk poisoned by an unfinished journaled operation (`VHD_OPEN_IGNORE_DISABLED`).
        public var ignoreDisabled: Bool
        /// Take the footer copy at offset 0 without trying the end of the file
        /// (`VHD_OPEN_USE_BKP_FOOTER`).
        public var useBackupFooter: Bool
        /// Read only the footer copy at offset 0 and the header (`VHD_OPEN_FAST`, `scan -f`).
        public var fast: Bool

        /// The flags `query`, `read`, `scan` and `check` use: a poisoned disk opens.
        public init(ignoreDisabled: Bool = true, useBackupFooter: Bool = false, fast: Bool = false) {
            self.ignoreDisabled = ignoreDisabled
            self.useBackupFooter = useBackupFooter
            self.fast = fast
        }
    }

    /// blktap's hard-coded block shift: libvhd sizes the BAT in 2 MiB blocks whatever the header says.
    static let blktapBlockShift: UInt64 = 21

    /// The path as given.
    public let path: String
    /// The file, open read-only.
    public let store: FileBlockStore
    /// The footer libvhd chose (end of file, short footer, or the copy at offset 0).
    public let footer: Footer
    /// The dynamic header of a dynamic or differencing disk; nil for other types.
    public let header: DynamicHeader?

    init(path: String, store: FileBlockStore, footer: Footer, header: DynamicHeader?) {
        self.path = path
        self.store = store
        self.footer = footer
        self.header = header
    }

    /// Opens `path` as libvhd's `vhd_open` does.
    ///
    /// - Throws: `.notFound` for a missing file, `.io` for other system errors and short reads
    ///   (blktap: `-EIO`), `.invalid` where libvhd returns `-EINVAL` (no valid footer, a bad
    ///   header, a poisoned disk without `ignoreDisabled`, a tap 0.1 image).
    public static func open(path: String, options: OpenOptions = OpenOptions()) throws(VHDError) -> LenientImage {
        var info = stat()
        if stat(path, &info) != 0 { throw systemError(call: "stat", errno: errno, path: path) }
        if path.utf8.count >= 1024 { throw systemError(call: "open", errno: ENAMETOOLONG, path: path) }
        let store: FileBlockStore
        do { store = try FileBlockStore(path: path, readOnly: true) } catch { throw mapOpenError(error, path: path) }
        if options.fast { return try openFast(path: path, store: store) }
        let footer = try readFooter(store: store, path: path, useBackup: options.useBackupFooter)
        if footer.isPoisoned && !options.ignoreDisabled {
            throw .disabled(image: path)
        }
        var header: DynamicHeader?
        if isDynamic(footer) {
            header = try readHeader(store: store, path: path, at: footer.dataOffset)
        }
        if footer.isTapCreated && footer.creatorVersion == 0x0000_0001 {
            throw .invalid(image: path, problem: "unsupported version 0.1 VHD")
        }
        return LenientImage(path: path, store: store, footer: footer, header: header)
    }

    /// `vhd_open_fast`: the footer copy at offset 0, then the header.
    private static func openFast(path: String, store: FileBlockStore) throws(VHDError) -> LenientImage {
        let bytes = try readExactly(store, count: Footer.size + DynamicHeader.size, at: 0)
        let footer = try decodeFooter(Array(bytes[0..<Footer.size]), path: path)
        guard isDynamic(footer) else { return LenientImage(path: path, store: store, footer: footer, header: nil) }
        let header: DynamicHeader
        if footer.dataOffset != UInt64(Footer.size) {
            header = try readHeader(store: store, path: path, at: footer.dataOffset)
        } else {
            header = try validatedHeader(Array(bytes[Footer.size...]), path: path)
        }
        return LenientImage(path: path, store: store, footer: footer, header: header)
    }

    /// The footer and header as blktap's `vhd_dump_headers` finds them for an image that does not
    /// open: the footer from the last place `vhd_read_footer` tried (the end of the file when
    /// valid, else the copy at offset 0), the header at its data offset when the footer's type
    /// has one, each all zeros when it could not be read. Nil when the file cannot be opened.
    public static func unvalidatedHeaders(path: String) -> (Footer, DynamicHeader)? {
        guard let store = try? FileBlockStore(path: path, readOnly: true) else { return nil }
        let size = store.size
        var footerBytes = [UInt8](repeating: 0, count: Footer.size)
        var found = false
        if size >= 512, let bytes = try? store.read(count: 512, at: size - 512) {
            footerBytes = bytes
            found = (try? decodeFooter(bytes, path: path)) != nil
        }
        if !found && size >= 511 && (size - 511) % 512 == 0, let bytes = try? store.read(count: 511, at: size - 511) {
            footerBytes = bytes + [0]
            found = (try? decodeFooter(footerBytes, path: path)) != nil
        }
        if !found && size >= 512, let bytes = try? store.read(count: 512, at: 0) {
            footerBytes = bytes
        }
        guard let footer = try? Footer(decoding: footerBytes),
            let zeroHeader = try? DynamicHeader(decoding: [UInt8](repeating: 0, count: DynamicHeader.size))
        else { return nil }
        var header = zeroHeader
        let offset = footer.dataOffset
        if isDynamic(footer), offset <= size, size - offset >= UInt64(DynamicHeader.size),
            let bytes = try? store.read(count: DynamicHeader.size, at: offset),
            let decoded = try? DynamicHeader(decoding: bytes)
        {
            header = decoded
        }
        return (footer, header)
    }

    // MARK: Footer and header

    /// libvhd's `vhd_read_footer`: EOF−512, then a 511-byte short footer, then offset 0.
    static func readFooter(store: FileBlockStore, path: String, useBackup: Bool) throws(VHDError) -> Footer {
        let size = store.size
        if !useBackup {
            if size >= 512,
                let footer = try? decodeFooter(try readExactly(store, count: 512, at: size - 512), path: path)
            {
                return footer
            }
            if size >= 511, (size - 511) % 512 == 0 {
                let bytes = try readExactly(store, count: 511, at: size - 511)
                if let footer = try? decodeFooter(bytes + [0], path: path) { return footer }
            }
        }
        return try decodeFooter(try readExactly(store, count: 512, at: 0), path: path)
    }

    /// Decodes a footer and applies `vhd_validate_footer`: cookie `conectix` or `v_poison`, and
    /// the checksum (tap 0.1/1.1 images may have summed it with hidden = 0).
    static func decodeFooter(_ bytes: [UInt8], path: String) throws(VHDError) -> Footer {
        guard let footer = try? Footer(decoding: bytes) else { throw .invalid(image: path, problem: "short footer") }
        guard footer.hasValidCookie || footer.isPoisoned else {
            throw .invalid(image: path, problem: "invalid footer cookie")
        }
        guard LenientImage.footerChecksumMatches(footer) else {
            throw .invalid(image: path, problem: "invalid footer checksum")
        }
        return footer
    }

    /// Whether the stored checksum matches, with blktap's exception for early tapdisk images
    /// that set `hidden` without updating the checksum.
    static func footerChecksumMatches(_ footer: Footer) -> Bool {
        var plain = footer
        plain.hidden = 0
        let sum = rawFooterChecksum(footer)
        if sum == footer.storedChecksum { return true }
        let early = footer.creatorVersion == 0x0000_0001 || footer.creatorVersion == 0x0001_0001
        return footer.hidden != 0 && footer.isTapCreated && early && rawFooterChecksum(plain) == footer.storedChecksum
    }

    /// `vhd_checksum_footer`: the one's complement byte sum of all 512 bytes, checksum field zero.
    public static func rawFooterChecksum(_ footer: Footer) -> UInt32 {
        Checksum.compute(footer.encoded(), skippingFieldAt: 64)
    }

    /// `vhd_checksum_header`.
    public static func rawHeaderChecksum(_ header: DynamicHeader) -> UInt32 {
        Checksum.compute(header.encoded(), skippingFieldAt: 36)
    }

    static func readHeader(store: FileBlockStore, path: String, at offset: UInt64) throws(VHDError) -> DynamicHeader {
        guard offset <= UInt64(Int64.max) else { throw .invalid(image: path, problem: "header offset out of range") }
        return try validatedHeader(try readExactly(store, count: DynamicHeader.size, at: offset), path: path)
    }

    /// libvhd's `vhd_validate_header`: cookie, version, data offset, a power-of-two block size of
    /// at most 2 MiB, known platform codes, checksum.
    static func validatedHeader(_ bytes: [UInt8], path: String) throws(VHDError) -> DynamicHeader {
        guard let header = try? DynamicHeader(decoding: bytes) else {
            throw .invalid(image: path, problem: "short header")
        }
        if !header.hasValidCookie { throw .invalid(image: path, problem: "invalid header cookie") }
        if header.headerVersion != DynamicHeader.headerVersion {
            throw .invalid(image: path, problem: "invalid header version")
        }
        if header.dataOffset != .max { throw .invalid(image: path, problem: "invalid header data offset") }
        let blockSize = header.blockSize
        if blockSize > DynamicHeader.defaultBlockSize || blockSize == 0 || blockSize & (blockSize - 1) != 0 {
            throw .invalid(image: path, problem: "invalid header block size \(blockSize)")
        }
        if header.locators.contains(where: { $0.platformCode == nil }) {
            throw .invalid(image: path, problem: "invalid parent locator code")
        }
        if rawHeaderChecksum(header) != header.storedChecksum {
            throw .invalid(image: path, problem: "invalid header checksum")
        }
        return header
    }

    static func isDynamic(_ footer: Footer) -> Bool {
        footer.diskTypeValue == DiskType.dynamic.rawValue || footer.diskTypeValue == DiskType.differencing.rawValue
    }

    // MARK: Derived values

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
    /// The size of the file in bytes.
    public var fileSize: UInt64 { store.size }

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
        let bytes = try Self.readExactly(store, count: Int(padded), at: header.tableOffset)
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
        let bytes = try Self.readExactly(store, count: BatmapHeader.size, at: Layout.batmapHeaderOffset(header: header))
        do { return try BatmapHeader(decoding: bytes) } catch {
            throw .invalid(image: path, problem: error.description)
        }
    }

    /// `vhd_get_batmap`: the header (cookie and version checked) and the map bytes the checksum
    /// covers, checksum verified.
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
        let map = try Self.readExactly(store, count: Int(mapSize), at: batmapHeader.mapOffset)
        let checksum = BatmapHeader.checksum(of: map, currentSize: footer.currentSize, version: batmapHeader.version)
        guard checksum == batmapHeader.checksum else { throw .invalid(image: path, problem: "invalid batmap checksum") }
        return (batmapHeader, map)
    }

    /// `vhd_batmap_test`: whether the batmap marks `block` full.
    public static func batmapTest(_ batmap: (header: BatmapHeader, map: [UInt8]), block: UInt64) -> Bool {
        guard block < UInt64(batmap.header.mapSectors &<< 12), Int(block >> 3) < batmap.map.count else { return false }
        return batmap.map[Int(block >> 3)] & (0x80 >> UInt8(block & 7)) != 0
    }

    // MARK: Fields

    /// `vhd_hidden`: the footer's flag, from the copy at offset 0 for tap 0.1/1.1 images; as C
    /// `char`, so 0xFF is −1.
    public func hidden() throws(VHDError) -> Int8 {
        let early = footer.creatorVersion == 0x0000_0001 || footer.creatorVersion == 0x0001_0001
        if isDynamic && footer.isTapCreated && early {
            let copy = try Self.decodeFooter(try Self.readExactly(store, count: 512, at: 0), path: path)
            return Int8(bitPattern: copy.hidden)
        }
        return Int8(bitPattern: footer.hidden)
    }

    /// `vhd_marker`: the batmap header's marker, else the `user.com.citrix.xenclient.backend.marker`
    /// extended attribute (absent reads as 0).
    public func marker() throws(VHDError) -> Int8 {
        if hasBatmap { return Int8(bitPattern: try batmapHeader().marker) }
        let bytes = try extendedAttribute("user.com.citrix.xenclient.backend.marker", size: 1)
        return Int8(bitPattern: bytes[0])
    }

    /// A key hash: cookie (1 when set), nonce and SHA-256 hash, 32 bytes each.
    public struct KeyHash: Sendable, Equatable {
        /// 1 when a key hash is set.
        public var cookie: UInt8
        /// 32 bytes of nonce.
        public var nonce: [UInt8]
        /// SHA-256(nonce ‖ key), 32 bytes.
        public var hash: [UInt8]
    }

    /// `vhd_get_keyhash`: from the batmap header, else the `…backend.keyhash` extended attribute.
    public func keyHash() throws(VHDError) -> KeyHash {
        if hasBatmap {
            let header = try batmapHeader()
            return KeyHash(cookie: header.keyHashCookie, nonce: header.keyHashNonce, hash: header.keyHashHash)
        }
        let bytes = try extendedAttribute("user.com.citrix.xenclient.backend.keyhash", size: 65)
        return KeyHash(cookie: bytes[0], nonce: Array(bytes[1..<33]), hash: Array(bytes[33..<65]))
    }

    /// blktap's `xattr_get`: the attribute's bytes, zeros when it is absent or unsupported.
    func extendedAttribute(_ name: String, size: Int) throws(VHDError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        guard let getxattr = Self.getxattrFunction else { return bytes }
        let result = bytes.withUnsafeMutableBytes { getxattr(path, name, $0.baseAddress, size) }
        if result < 0 {
            let code = errno
            if code == ENODATA || code == ENOTSUP { return [UInt8](repeating: 0, count: size) }
            throw Self.systemError(call: "getxattr", errno: code, path: path)
        }
        return bytes
    }

    /// `getxattr(2)`, looked up at run time: the Glibc module does not export `<sys/xattr.h>`.
    /// The corresponding C function is `getxattr`.
    static let getxattrFunction: GetxattrFunction? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "getxattr") else { return nil }
        return unsafeBitCast(symbol, to: GetxattrFunction.self)
    }()

    typealias GetxattrFunction =
        @convention(c) (
            UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, Int
        ) -> Int

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
        let bat = try bat()
        guard block < bat.count else {
            throw .outOfRange(image: path, offset: UInt64(block), count: 1, size: UInt64(bat.count))
        }
        guard bat[block] != BlockAllocationTable.unused else {
            throw .invalid(image: path, problem: "block \(block) not allocated")
        }
        let size = Self.sectorsNoZero(sectorsPerBlock >> 3) * 512
        return try Self.readExactly(store, count: Int(size), at: UInt64(bat[block]) * 512)
    }

    /// `vhd_read_block`: the data of an allocated block; the part past the footer offset reads
    /// as zeros.
    public func readBlock(block: Int) throws(VHDError) -> [UInt8] {
        let bat = try bat()
        guard block < bat.count else {
            throw .outOfRange(image: path, offset: UInt64(block), count: 1, size: UInt64(bat.count))
        }
        guard bat[block] != BlockAllocationTable.unused else {
            throw .invalid(image: path, problem: "block \(block) not allocated")
        }
        let blockSize = sectorsPerBlock * 512
        let offset = (UInt64(bat[block]) + bitmapSectors) * 512
        let end = fileSize >= 512 ? fileSize - 512 : 0
        var count = blockSize
        if end < offset + blockSize { count = end > offset ? end - offset : 0 }
        var data = try Self.readExactly(store, count: Int(count), at: offset)
        data += [UInt8](repeating: 0, count: Int(blockSize - count))
        return data
    }

    // MARK: Parents

    /// `vhd_header_decode_parent`: the header's parent name, UTF-16BE (UTF-16 for tap 0.1),
    /// which must convert to ASCII as a whole (`LocatorPath`, `.ascii`).
    public static func decodeParentName(header: DynamicHeader, footer: Footer) -> String? {
        let bytes = header.parentNameBytes
        var bigEndian = true
        var start = 0
        if footer.isTapCreated && footer.creatorVersion == 0x0000_0001 && bytes.count >= 2 {
            if bytes[0] == 0xFF && bytes[1] == 0xFE {
                bigEndian = false
                start = 2
            }
            if bytes[0] == 0xFE && bytes[1] == 0xFF { start = 2 }
        }
        return LocatorPath.decodeUTF16(Array(bytes[start...]), bigEndian: bigEndian, characters: .ascii)
    }

    /// `vhd_parent_locator_read`: the path a MacX, W2ku or W2ru locator holds.
    ///
    /// - Throws: `.invalid` (blktap −EINVAL) for other codes, a zero size or undecodable data,
    ///   `.io` for a short read.
    public func readLocator(_ locator: ParentLocator) throws(VHDError) -> String {
        guard isDifferencing else { throw .invalid(image: path, problem: "not a differencing disk") }
        guard let code = locator.platformCode, code == .macX || code == .w2ku || code == .w2ru else {
            throw .invalid(image: path, problem: "locator code cannot be decoded")
        }
        let size = Self.locatorSize(locator)
        guard size > 0, size <= UInt64(Int32.max) else { throw .invalid(image: path, problem: "invalid locator size") }
        let raw = try Self.readExactly(store, count: Int(size), at: locator.dataOffset)
        let payload = Array(raw.prefix(Int(min(UInt64(locator.dataLength), size))))
        guard let decoded = LocatorPath.decode(payload, code: code, characters: .ascii) else {
            throw .invalid(image: path, problem: "undecodable parent locator")
        }
        return decoded
    }

    /// `vhd_parent_locator_get`: the first locator that decodes (and, with `resolve`, names a
    /// readable file) gives the parent path.
    ///
    /// - Throws: `.invalid` when no locator decodes, else the last resolution error.
    public func parentPath(resolve: Bool = true) throws(VHDError) -> String {
        guard let header, isDifferencing else { throw .invalid(image: path, problem: "not a differencing disk") }
        var failure: VHDError = .invalid(image: path, problem: "no parent locator could be read")
        for locator in header.locators {
            guard let name = try? readLocator(locator) else { continue }
            if !resolve { return name }
            do { return try findParent(name) } catch { failure = error }
        }
        throw failure
    }

    /// `vhd_find_parent`: an absolute readable path as is, else the path relative to the child's
    /// canonical directory, canonicalised.
    public func findParent(_ parent: String) throws(VHDError) -> String {
        if parent.hasPrefix("/") && access(parent, R_OK) == 0 { return parent }
        guard let child = FileParentResolver.canonicalPath(path) else {
            throw Self.systemError(call: "realpath", errno: errno, path: path)
        }
        let location = FileParentResolver.directory(of: child) + "/" + parent
        guard access(location, R_OK) == 0 else { throw Self.systemError(call: "access", errno: errno, path: location) }
        guard let canonical = FileParentResolver.canonicalPath(location) else {
            throw Self.systemError(call: "realpath", errno: errno, path: location)
        }
        return canonical
    }

    /// `vhd_chain_depth`: the images in the chain, plus one for a raw parent. Parents are opened
    /// without `IGNORE_DISABLED`, as blktap does.
    public func chainDepth() throws(VHDError) -> Int {
        var depth = 0
        var current = self
        while true {
            depth += 1
            guard current.isDifferencing else { return depth }
            if current.hasRawParent { return depth + 1 }
            if depth > 4096 { throw .parentCycle(chain: [path]) }
            let parent = try current.parentPath()
            current = try LenientImage.open(path: parent, options: OpenOptions(ignoreDisabled: false))
        }
    }

    // MARK: Helpers

    /// Reads exactly `count` bytes at `offset`; a read reaching past the end is libvhd's short
    /// read, `-EIO`.
    static func readExactly(_ store: FileBlockStore, count: Int, at offset: UInt64) throws(VHDError) -> [UInt8] {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        guard !overflow, end <= store.size else {
            throw .io(.shortRead(store: store.path, offset: offset, expected: count, got: 0))
        }
        do { return try store.read(count: count, at: offset) } catch { throw .io(error) }
    }

    static func systemError(call: String, errno code: Int32, path: String) -> VHDError {
        code == ENOENT ? .notFound(path: path) : .io(.system(call: call, errno: code, path: path))
    }

    static func mapOpenError(_ error: BlockIOError, path: String) -> VHDError {
        if case .system(_, let code, _) = error, code == ENOENT { return .notFound(path: path) }
        return .io(error)
    }
}
