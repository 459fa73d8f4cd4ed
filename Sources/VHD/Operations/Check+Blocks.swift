import BlockIO
import Glibc
import VHDFormat

extension Check.Run {
    /// `vhd_util_check_bat`: every allocated block (of the `floor(curr_size / 2 MiB)` blktap
    /// examines) lies after the metadata, before the footer, and overlaps no other block; with
    /// `-b`/`-s`, its bitmap is examined too.
    mutating func checkBAT(_ image: Image.Libvhd) -> Int32? {
        guard let header = image.header else { return nil }
        if options.collectStatistics {
            statistics = Check.Statistics(
                path: image.path, totalSectors: image.sectorsPerBlock * UInt64(header.maxTableEntries),
                sectorsPerBlock: image.sectorsPerBlock)
        }
        var eof = image.fileSize
        if eof % 512 != 0 {
            if eof % 512 != 511 { return fail("invalid file size: 0x\(String(eof, radix: 16))", EINVAL) }
            eof += 1
        }
        let bat: [UInt32]
        do { bat = try image.bat() } catch { return fail("error reading bat: -\(error.errno)", error.errno) }
        let endOfHeaders: UInt64
        do { endOfHeaders = try image.endOfHeaders() } catch {
            return fail("error calculating end of metadata: -\(error.errno)", error.errno)
        }
        let eofSector = Int64(bitPattern: eof &- 512) >> 9
        let eohSector = Int64(bitPattern: endOfHeaders >> 9)
        let span = UInt32(truncatingIfNeeded: image.sectorsPerBlock + image.bitmapSectors)
        let blocks = image.footer.currentSize >> 21
        if blocks > UInt64(header.maxTableEntries) {
            return fail("VHD size (\(blocks) blocks) exceeds BAT size (\(header.maxTableEntries))", EINVAL)
        }
        let examined = Array(bat.prefix(Int(blocks)))
        let overlaps = OverlapIndex(examined, span: span)
        for (index, offset) in examined.enumerated() where offset != BlockAllocationTable.unused {
            if Int64(offset) < eohSector {
                return fail("block \(index) (offset 0x\(hex(offset))) clobbers headers", EINVAL)
            }
            let end = offset &+ span
            if Int64(end) > eofSector {
                let tolerated = primaryFooterMissing && options.ignoreFooter && Int64(end) == eofSector + 1
                if !tolerated { return fail("block \(index) (offset 0x\(hex(offset))) clobbers footer", EINVAL) }
            }
            if !options.skipOverlapCheck, let other = overlaps.firstConflict(of: index) {
                return fail(
                    "block \(index) (offset 0x\(hex(offset))) clobbers block \(other) (offset 0x\(hex(examined[other])))",
                    EINVAL)
            }
            if options.checkData || options.collectStatistics {
                statistics?.allocatedSectors += image.sectorsPerBlock
                if let code = checkBitmap(image, block: index) { return code }
            }
        }
        return nil
    }

    /// `vhd_util_check_bitmap`: with `-s`, counts the written sectors; with `-b`, reports every
    /// sector holding data (a non-zero byte past the first, blktap's zero test) whose bit is clear.
    mutating func checkBitmap(_ image: Image.Libvhd, block: Int) -> Int32? {
        let bitmap: [UInt8]
        do { bitmap = try image.readBitmap(block: block) } catch {
            return fail("error reading bitmap 0x\(hex(block))", error.errno)
        }
        var data: [UInt8] = []
        if options.checkData {
            do { data = try image.readBlock(block: block) } catch {
                return fail("error reading data block 0x\(hex(block))", error.errno)
            }
        }
        let sectors = Int(image.sectorsPerBlock)
        if options.collectStatistics {
            var written: UInt64 = 0
            for sector in 0..<sectors where bitmap[sector >> 3] & (0x80 >> UInt8(sector & 7)) != 0 { written += 1 }
            statistics?.writtenSectors += written
            if written > 0 { statistics?.blockBitmaps[block] = Array(bitmap.prefix((sectors + 7) / 8)) }
        }
        guard options.checkData else { return nil }
        var failed = false
        for sector in 0..<sectors where bitmap[sector >> 3] & (0x80 >> UInt8(sector & 7)) == 0 {
            let start = sector * 512
            if Check.firstNonZero(Array(data[start..<start + 512])) != 0 {
                problems.append("sector 0x\(hex(sector)) of block 0x\(hex(block)) has data where bitmap is clear")
                failed = true
            }
        }
        return failed ? EINVAL : nil
    }

    /// `vhd_util_check_batmap`.
    mutating func checkBatmap(_ image: Image.Libvhd) -> Int32? {
        guard let header = image.header else { return nil }
        let bat: [UInt32]
        do { bat = try image.bat() } catch { return fail("error reading bat: -\(error.errno)", error.errno) }
        let batmap: (header: BatmapHeader, map: [UInt8])
        do { batmap = try image.batmap() } catch { return fail("error reading batmap: -\(error.errno)", error.errno) }
        let mapHeader = batmap.header
        if mapHeader.mapSectors == 0 { return fail("batmap is invalid: invalid size zero", EINVAL) }
        if mapHeader.mapSectors &<< 12 < header.maxTableEntries {
            return fail("batmap is invalid: batmap-BAT size mismatch", EINVAL)
        }
        if mapHeader.mapOffset == 0 || mapHeader.mapOffset % 512 != 0 {
            return fail("batmap is invalid: invalid batmap offset", EINVAL)
        }
        if mapHeader.mapOffset &+ UInt64(mapHeader.mapSectors) * 512 > image.fileSize &- 512 {
            return fail("batmap is invalid: invalid batmap size", EINVAL)
        }
        let blocks = image.footer.currentSize >> 21
        for block in 0..<blocks where Image.Libvhd.batmapTest(batmap, block: block) {
            if Int(block) < bat.count, bat[Int(block)] == BlockAllocationTable.unused {
                return fail("batmap shows unallocated block \(block) full", EINVAL)
            }
        }
        return nil
    }

    /// `vhd_util_check_parent_locators`: each locator is well formed, no code repeats, each
    /// path-bearing locator names the header's parent and resolves to it, and (unless `-I`) the
    /// parent's UUID is the one the header records.
    mutating func checkParentLocators(_ image: Image.Libvhd) -> Int32? {
        guard let header = image.header else { return nil }
        guard let parentName = Image.Libvhd.decodeParentName(header: header, footer: image.footer) else {
            return fail("error decoding parent name: -22", EINVAL)
        }
        var seen: Set<UInt32> = []
        var found = 0
        for (slot, locator) in header.locators.enumerated() {
            if let problem = locatorProblem(locator, in: image) {
                return fail("invalid parent locator \(slot): \(problem)", EINVAL)
            }
            guard let code = locator.platformCode, code != .unused else { continue }
            if !seen.insert(code.rawValue).inserted {
                return fail("duplicate platform code in locator \(slot): 0x\(hex(code.rawValue))", EINVAL)
            }
            guard code == .macX || code == .w2ru || code == .w2ku else { continue }
            let path: String
            do { path = try image.readLocator(locator) } catch {
                return fail("error reading parent locator \(slot): -\(error.errno)", error.errno)
            }
            let file = Check.basename(path)
            if file != parentName {
                return fail("parent locator \(slot) name (\(file)) does not match header name (\(parentName))", EINVAL)
            }
            let location: String
            do { location = try image.findParent(path) } catch {
                return fail("error resolving \(path): -\(error.errno)", error.errno)
            }
            if access(location, R_OK) != 0 && code == .macX {
                let code = errno
                return fail("parent locator \(slot) points to missing file \(path) (resolved to \(location))", code)
            }
            if let problem = parentProblem(image, location: location) {
                return fail("invalid parent \(location): \(problem)", EINVAL)
            }
            found += 1
        }
        if found == 0 { return fail("could not find parent \(parentName)", EINVAL) }
        return nil
    }

    /// `vhd_util_check_validate_parent_locator`.
    func locatorProblem(_ locator: ParentLocator, in image: Image.Libvhd) -> String? {
        guard let code = locator.platformCode else { return "invalid platform code" }
        if code == .unused {
            return Check.firstNonZero(Check.hostOrderLocatorBytes([locator])) != 0 ? "non-zero locator" : nil
        }
        if locator.dataOffset == 0 { return "invalid data offset" }
        if locator.dataSpace == 0 { return "invalid data space" }
        if locator.dataLength == 0 { return "invalid data length" }
        if locator.dataOffset &+ Image.Libvhd.locatorSize(locator) > image.fileSize &- 512 { return "invalid size" }
        if locator.reserved != 0 { return "invalid reserved bits" }
        return nil
    }

    /// `vhd_util_check_validate_parent`.
    func parentProblem(_ image: Image.Libvhd, location: String) -> String? {
        guard let header = image.header, !image.hasRawParent, !options.ignoreParentUUID else { return nil }
        let parent: Image.Libvhd
        do { parent = try Image.open(path: location, options: .libvhd()).libvhd } catch {
            // blktap's words, plus why when the path is no image at all (blktap hangs on a FIFO).
            if case .io(.notAStore) = error { return "error opening parent: \(error)" }
            return "error opening parent"
        }
        return parent.footer.uuid == header.parentUUID ? nil : "invalid parent uuid"
    }
}

extension Check {
    /// The last path component, as POSIX `basename` for the paths locators hold.
    static func basename(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if trimmed.isEmpty { return "." }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        let last = trimmed[trimmed.index(after: slash)...]
        return last.isEmpty ? "/" : String(last)
    }
}

/// Finds, for block `i`, the first block `j ≠ i` (in BAT order) whose area overlaps block `i`'s,
/// with blktap's three conditions (`off == joff`, `joff < off < joff+span`,
/// `joff < off+span < joff+span`, in 32-bit sector arithmetic) but without its O(n²) scan:
/// blocks are indexed by offset and only neighbours within one span are examined. Offsets so
/// close to 2^32 that the sums wrap fall back to the plain scan, whose wrapping is exact.
struct OverlapIndex {
    let offsets: [UInt32]
    let span: UInt32
    /// (offset, block) of allocated blocks, sorted by offset then block.
    let sorted: [(offset: UInt32, block: Int)]
    let wraps: Bool

    init(_ offsets: [UInt32], span: UInt32) {
        self.offsets = offsets
        self.span = span
        let allocated = offsets.enumerated().filter { $0.element != BlockAllocationTable.unused }
        sorted = allocated.map { ($0.element, $0.offset) }.sorted { ($0.offset, $0.block) < ($1.offset, $1.block) }
        wraps = allocated.contains { UInt32.max - $0.element < span }
    }

    func conflicts(_ offset: UInt32, _ other: UInt32) -> Bool {
        if offset == other { return true }
        if offset > other && offset < other &+ span { return true }
        return offset &+ span > other && offset &+ span < other &+ span
    }

    func firstConflict(of block: Int) -> Int? {
        let offset = offsets[block]
        if wraps {
            for (other, otherOffset) in offsets.enumerated()
            where other != block && otherOffset != BlockAllocationTable.unused && conflicts(offset, otherOffset) {
                return other
            }
            return nil
        }
        let low = offset >= span ? offset - span + 1 : 0
        var index = lowerBound(low)
        var best: Int?
        while index < sorted.count, sorted[index].offset < offset &+ span {
            let candidate = sorted[index]
            if candidate.block != block && conflicts(offset, candidate.offset) {
                best = min(best ?? candidate.block, candidate.block)
            }
            index += 1
        }
        return best
    }

    /// The first position whose offset is at least `offset`.
    func lowerBound(_ offset: UInt32) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle].offset < offset { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// Lower-case hexadecimal, as C's `%x`.
func hex<T: BinaryInteger>(_ value: T) -> String { String(value, radix: 16) }
