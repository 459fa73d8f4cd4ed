import BlockIO
import VHDFormat

extension Image {
    /// Opens the VHD on `store`, checking what `options.validation` asks.
    ///
    /// The footer is taken from the end of the store, else (blktap's order) a 511-byte short
    /// footer, else the copy at offset 0. With `.full` validation, header, BAT and batmap are
    /// bounds-checked against the store; blocks must lie after all metadata, before the
    /// footer, and must not overlap. With `.libvhd`, only what libvhd's `vhd_open` checks.
    ///
    /// - Throws: `VHDError.invalid` naming the first problem, `.disabled` for a poisoned disk
    ///   unless `options.ignoreDisabled`, `.io` when the store fails (with `.libvhd`, also for
    ///   structures past the end of the file, libvhd's `-EIO`).
    public static func open(store: any BlockStore, name: String? = nil, options: OpenOptions = .readOnly)
        throws(VHDError) -> Image
    {
        let name = name ?? store.name
        if options.writable && store.isReadOnly { throw .readOnly(image: name) }
        if case .libvhd(let backupFooter, let fast) = options.validation {
            return try openAsLibvhd(store: store, name: name, options: options, backupFooter: backupFooter, fast: fast)
        }
        let identity = store.identity
        let (footer, source) = try readFooter(store: store, name: name, rules: .engine)
        if footer.isPoisoned && !options.ignoreDisabled { throw .disabled(image: name) }
        guard let type = footer.diskType, type == .fixed || type.isSparse else {
            throw .invalid(image: name, problem: "unsupported disk type \(footer.diskTypeValue)")
        }
        let blockLimit: UInt64
        switch source {
        case .primary(let offset): blockLimit = offset
        case .backup: blockLimit = store.size
        }
        if type == .fixed {
            guard footer.currentSize <= blockLimit else {
                throw .invalid(
                    image: name,
                    problem: "fixed disk of \(footer.currentSize) bytes does not fit in a \(store.size)-byte file")
            }
            return Image(
                store: store, name: name, options: options, footerSource: source,
                state: .headersOnly(footer: footer, header: nil, endOfData: footer.currentSize), openedIdentity: identity)
        }
        let header = try readHeader(store: store, name: name, footer: footer)
        let bat = try readBAT(store: store, name: name, header: header)
        let (batmapHeader, batmap) = try readBatmap(
            store: store, name: name, footer: footer, header: header, strict: options.writable)
        let endOfHeaders = Layout.endOfHeaders(footer: footer, header: header, batmap: batmapHeader)
        try validateBlocks(
            name: name, bat: bat, header: header, endOfHeaders: endOfHeaders, limit: blockLimit,
            currentSize: footer.currentSize)
        let state = State(
            footer: footer, header: header, bat: bat, batmapHeader: batmapHeader, batmap: batmap,
            blocks: [:],
            endOfData: computeEndOfData(footer: footer, header: header, batmapHeader: batmapHeader, bat: bat))
        return Image(
            store: store, name: name, options: options, footerSource: source, state: state, openedIdentity: identity)
    }

    /// libvhd's `vhd_open` (and `vhd_open_fast`): footer and header only.
    private static func openAsLibvhd(
        store: any BlockStore, name: String, options: OpenOptions, backupFooter: Bool, fast: Bool
    ) throws(VHDError) -> Image {
        guard !options.writable else {
            throw .invalidArgument("\(name): an image opened with libvhd's validation is read-only")
        }
        let footer: Footer
        let source: FooterSource
        if fast {
            // `vhd_open_fast` reads the footer copy and the header in one go, so a file shorter
            // than both is a short read even for a fixed disk.
            try Libvhd.requireInStore(store, name: name, count: Footer.size + DynamicHeader.size, at: 0)
            (footer, source) = try readBackupFooter(store: store, name: name, rules: .libvhd, primaryProblem: "not read")
        } else {
            (footer, source) = try readFooter(store: store, name: name, rules: .libvhd, backupOnly: backupFooter)
            if footer.isPoisoned && !options.ignoreDisabled { throw .disabled(image: name) }
        }
        let header =
            footer.diskType?.isSparse == true ? try readHeader(store: store, name: name, footer: footer, rules: .libvhd) : nil
        if !fast && footer.isTapCreated && footer.creatorVersion == 0x0000_0001 {
            throw .invalid(image: name, problem: "unsupported version 0.1 VHD")
        }
        return Image(
            store: store, name: name, options: options, footerSource: source,
            state: .headersOnly(footer: footer, header: header, endOfData: 0), openedIdentity: store.identity)
    }

    /// Reads the footer in blktap's order (`vhd_read_footer`): EOF−512, EOF−511, offset 0
    /// (only offset 0 with `backupOnly`, `VHD_OPEN_USE_BKP_FOOTER`).
    ///
    /// Under the engine's rules a file too small for a footer is invalid and the copy at
    /// offset 0 must describe a sparse disk (only those have one); under libvhd's the copy may
    /// be of any type and a file too small is a short read.
    static func readFooter(
        store: any BlockStore, name: String, rules: HeaderValidation.Rules = .engine, backupOnly: Bool = false
    ) throws(VHDError) -> (Footer, FooterSource) {
        let size = store.size
        let footerSize = UInt64(Footer.size)
        var primaryProblem = "not read"
        if rules == .engine && size < footerSize {
            throw .invalid(image: name, problem: "file of \(size) bytes is too small to hold a VHD footer")
        }
        if !backupOnly {
            if size >= footerSize {
                switch try Footer.decodeChecked(store: store, at: size - footerSize, count: Footer.size) {
                case .success(let footer): return (footer, .primary(offset: size - footerSize))
                case .failure(let problem): primaryProblem = problem.description
                }
            }
            if size >= 511 && size % 512 == 511 {
                let short = try Footer.decodeChecked(store: store, at: size - 511, count: 511)
                if case .success(let footer) = short { return (footer, .primary(offset: size - 511)) }
            }
        }
        return try readBackupFooter(store: store, name: name, rules: rules, primaryProblem: primaryProblem)
    }

    /// The footer copy at offset 0.
    private static func readBackupFooter(
        store: any BlockStore, name: String, rules: HeaderValidation.Rules, primaryProblem: String
    ) throws(VHDError) -> (Footer, FooterSource) {
        try Libvhd.requireInStore(store, name: name, count: Footer.size, at: 0)
        switch try Footer.decodeChecked(store: store, at: 0, count: Footer.size) {
        case .success(let footer):
            guard rules == .libvhd || footer.diskType?.isSparse == true else {
                throw .invalid(image: name, problem: "primary footer invalid: \(primaryProblem)")
            }
            return (footer, .backup(primaryProblem: primaryProblem))
        case .failure(let backupProblem):
            throw .invalid(
                image: name,
                problem: "no valid footer: primary footer \(primaryProblem); backup footer \(backupProblem)")
        }
    }

    /// Reads the dynamic header at the footer's data offset and checks it under `rules`. A
    /// header outside the file is invalid to the engine; to libvhd it is a short read (`-EIO`).
    static func readHeader(
        store: any BlockStore, name: String, footer: Footer, rules: HeaderValidation.Rules = .engine
    ) throws(VHDError) -> DynamicHeader {
        let offset = footer.dataOffset
        switch rules {
        case .engine:
            guard offset % 512 == 0, offset < store.size, store.size - offset >= UInt64(DynamicHeader.size) else {
                throw .invalid(image: name, problem: "header offset \(offset) is outside the \(store.size)-byte file")
            }
        case .libvhd:
            guard offset <= UInt64(Int64.max) else { throw .invalid(image: name, problem: "header offset out of range") }
            try Libvhd.requireInStore(store, name: name, count: DynamicHeader.size, at: offset)
        }
        let bytes = try VHDError.wrap { () throws(BlockIOError) in try store.read(count: DynamicHeader.size, at: offset) }
        let header: DynamicHeader
        do { header = try DynamicHeader(decoding: bytes) } catch { throw .invalid(image: name, problem: error.description) }
        if let problem = HeaderValidation.firstProblem(header, footer: footer, storeSize: store.size, rules: rules) {
            throw .invalid(image: name, problem: problem)
        }
        return header
    }

    static func readBAT(store: any BlockStore, name: String, header: DynamicHeader) throws(VHDError)
        -> BlockAllocationTable
    {
        try VHDError.wrap { () throws(BlockIOError) in
            try BlockAllocationTable(count: Int(header.maxTableEntries)) { (raw) throws(BlockIOError) in
                try store.read(into: raw, at: header.tableOffset)
            }
        }
    }

    /// Reads blktap's batmap where `vhd_has_batmap` says there is one. A damaged batmap fails a
    /// writable open (writes would extend the damage) and is ignored by a read-only one, since
    /// reads never depend on it.
    static func readBatmap(
        store: any BlockStore, name: String, footer: Footer, header: DynamicHeader, strict: Bool
    ) throws(VHDError) -> (BatmapHeader?, [UInt8]) {
        guard footer.isTapCreated, footer.creatorVersion >= 0x0001_0001 else { return (nil, []) }
        let offset = Layout.batmapHeaderOffset(header: header)
        guard offset < store.size, store.size - offset >= UInt64(BatmapHeader.size) else {
            if footer.creatorVersion == 0x0001_0001 { return (nil, []) }
            if strict { throw .invalid(image: name, problem: "batmap header at \(offset) lies past the end") }
            return (nil, [])
        }
        let bytes = try VHDError.wrap { () throws(BlockIOError) in try store.read(count: BatmapHeader.size, at: offset) }
        guard let batmapHeader = try? BatmapHeader(decoding: bytes), batmapHeader.hasValidCookie else {
            if footer.creatorVersion == 0x0001_0001 { return (nil, []) }
            if strict { throw .invalid(image: name, problem: "batmap is invalid: invalid cookie") }
            return (nil, [])
        }
        if let problem = BatmapValidation.firstProblem(batmapHeader, header: header, storeSize: store.size) {
            if strict { throw .invalid(image: name, problem: "batmap is invalid: \(problem)") }
            return (nil, [])
        }
        let mapSize = Int(batmapHeader.mapSectors) * Int(sectorSize)
        let map = try VHDError.wrap { () throws(BlockIOError) in try store.read(count: mapSize, at: batmapHeader.mapOffset) }
        let checksum = BatmapHeader.checksum(of: map, currentSize: footer.currentSize, version: batmapHeader.version)
        if checksum != batmapHeader.checksum {
            if strict { throw .invalid(image: name, problem: "batmap is invalid: invalid checksum") }
            return (batmapHeader, [UInt8](repeating: 0, count: mapSize))
        }
        return (batmapHeader, map)
    }

    /// Every allocated block lies after the metadata and before the footer, overlaps no other,
    /// and starts inside the virtual size: data past it could never be read, so an image whose
    /// size was cut under its data (a footer saying 0 bytes over a written block) is refused
    /// rather than read, imported or written as empty.
    static func validateBlocks(
        name: String, bat: BlockAllocationTable, header: DynamicHeader, endOfHeaders: UInt64, limit: UInt64,
        currentSize: UInt64
    ) throws(VHDError) {
        let span = header.bitmapSize + UInt64(header.blockSize)
        var placed: [(start: UInt64, block: Int)] = []
        for (block, entry) in bat.entries.enumerated() where entry != BlockAllocationTable.unused {
            if UInt64(block) * UInt64(header.blockSize) >= currentSize {
                throw .blockBeyondVirtualSize(
                    image: name, block: block, blockSize: header.blockSize, currentSize: currentSize)
            }
            let start = UInt64(entry) * sectorSize
            if start < endOfHeaders {
                throw .invalid(image: name, problem: "block \(block) at \(start) lies inside the metadata (which ends at \(endOfHeaders))")
            }
            if start + span > limit {
                throw .invalid(image: name, problem: "block \(block) at \(start) extends past the end of data (\(limit))")
            }
            placed.append((start, block))
        }
        placed.sort { $0.start < $1.start }
        for index in placed.indices.dropFirst() where placed[index].start < placed[index - 1].start + span {
            throw .invalid(
                image: name,
                problem: "block \(placed[index].block) at \(placed[index].start) overlaps block \(placed[index - 1].block) at \(placed[index - 1].start)")
        }
    }
}

extension Footer {
    /// Reads and decodes a footer, returning what is wrong with it instead of throwing for
    /// content problems; only I/O failures throw.
    static func decodeChecked(store: any BlockStore, at offset: UInt64, count: Int) throws(VHDError)
        -> Result<Footer, FooterProblem>
    {
        checked(try VHDError.wrap { () throws(BlockIOError) in try store.read(count: count, at: offset) })
    }

    /// Decodes a footer and applies `vhd_validate_footer`: cookie `conectix` or `v_poison`,
    /// and the checksum.
    static func checked(_ bytes: [UInt8]) -> Result<Footer, FooterProblem> {
        guard let footer = try? Footer(decoding: bytes) else { return .failure(FooterProblem("invalid size")) }
        if !footer.hasValidCookie && !footer.isPoisoned { return .failure(FooterProblem("invalid cookie")) }
        if !footer.isChecksumValid { return .failure(FooterProblem("invalid checksum")) }
        return .success(footer)
    }
}

/// A reason a footer candidate was rejected, in blktap's words.
struct FooterProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
