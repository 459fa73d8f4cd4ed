import BlockIO
import Glibc
import VHDFormat

extension Check {
    /// `vhd_util_check_validate_footer`: the first problem with `footer`, in blktap's words.
    public static func footerProblem(_ footer: Footer, now: UInt32, ignoreTimestamps: Bool) -> String? {
        if !footer.hasValidCookie { return "invalid cookie" }
        if !footer.isChecksumValid { return "invalid checksum" }
        if footer.features & Footer.reservedFeature == 0 { return "invalid 'reserved' feature" }
        if footer.features & ~(Footer.reservedFeature | Footer.temporaryFeature) != 0 {
            return "invalid extra features"
        }
        if footer.fileFormatVersion != Footer.fileFormatVersion { return "invalid file format version" }
        if footer.diskType?.isSparse != true && footer.dataOffset != .max { return "invalid data offset" }
        if !ignoreTimestamps && footer.timestamp.secondsSince2000 > now &+ timestampSlack {
            return "creation time in future"
        }
        if footer.isTapCreated && footer.creatorVersion > Footer.blktapCreatorVersion {
            return "unsupported tap creator version"
        }
        if Geometry.blktap(forSize: footer.currentSize).packed < footer.geometry.packed { return "geometry too large" }
        let type = footer.diskTypeValue
        if type != DiskType.fixed.rawValue && footer.diskType?.isSparse != true { return "invalid type" }
        if footer.savedState > 1 { return "invalid 'saved' state" }
        if footer.hidden > 1 { return "invalid 'hidden' state" }
        if firstNonZero(footer.reserved) != 0 { return "invalid 'reserved' bits" }
        if footer.uuid.isNull { return "invalid (NULL) uuid" }
        return nil
    }

    /// `vhd_util_check_validate_header`: the first problem with `header` in a file of
    /// `fileSize` bytes, in blktap's words.
    public static func headerProblem(_ header: DynamicHeader, fileSize: UInt64) -> String? {
        if !header.hasValidCookie { return "invalid cookie" }
        if header.computedChecksum != header.storedChecksum { return "invalid checksum" }
        if header.headerVersion != DynamicHeader.headerVersion { return "invalid header version" }
        if header.dataOffset != .max { return "invalid data offset" }
        let tableEnd = header.tableOffset &+ UInt64(header.maxTableEntries) * 4
        if header.tableOffset == 0 || header.tableOffset % 512 != 0 || tableEnd > fileSize &- 512 {
            return "invalid table offset"
        }
        if header.blockSize.nonzeroBitCount != 1 { return "invalid block size" }
        if header.reserved1 != 0 { return "invalid reserved bits" }
        if firstNonZero(header.reserved2) != 0 { return "invalid reserved bits" }
        return nil
    }

    /// blktap's `vhd_util_check_zeros`: the index of the first non-zero byte, or 0. A non-zero
    /// byte at index 0 therefore goes unnoticed; blktap has that quirk and so do we.
    static func firstNonZero(_ bytes: [UInt8]) -> Int {
        bytes.firstIndex { $0 != 0 } ?? 0
    }

    /// The eight locator entries as `vhd_header_in` leaves them in memory (little-endian host
    /// order), which is what blktap's zero test scans.
    static func hostOrderLocatorBytes(_ locators: [ParentLocator]) -> [UInt8] {
        var bytes: [UInt8] = []
        for locator in locators {
            for field in [locator.platformCodeValue, locator.dataSpace, locator.dataLength, locator.reserved] {
                bytes += (0..<4).map { UInt8(truncatingIfNeeded: field >> (8 * $0)) }
            }
            bytes += (0..<8).map { UInt8(truncatingIfNeeded: locator.dataOffset >> (8 * $0)) }
        }
        return bytes
    }
}

extension Check.Run {
    /// `vhd_util_check_footer`: the primary footer, then (for sparse disks, or with `-i`) the
    /// copy at offset 0, which must match.
    mutating func checkFooter(_ store: FileBlockStore) -> Result<Footer, CheckErrno> {
        let size = store.size
        let count: UInt64 = size % 512 != 0 ? 511 : 512
        guard size >= count else { return .failure(CheckErrno(fail("error calculating end of file: -22", EINVAL))) }
        guard var bytes = try? store.read(count: Int(count), at: size - count) else {
            return .failure(CheckErrno(fail("error reading primary footer: -5", EIO)))
        }
        if bytes.count == 511 { bytes.append(0) }
        var primary =
            (try? Footer(decoding: bytes))
            ?? Footer(
                diskType: .none, currentSize: 0, uuid: .null, timestamp: .init(secondsSince2000: 0), dataOffset: 0)
        if let problem = Check.footerProblem(primary, now: options.now, ignoreTimestamps: options.ignoreTimestamps) {
            primaryFooterMissing = true
            if !options.ignoreFooter {
                return .failure(CheckErrno(fail("primary footer invalid: \(problem)", EINVAL)))
            }
        } else if primary.diskTypeValue == DiskType.fixed.rawValue {
            return .success(primary)
        }
        guard size >= 512, let backupBytes = try? store.read(count: 512, at: 0),
            let backup = try? Footer(decoding: backupBytes)
        else {
            return .failure(CheckErrno(fail("error reading backup footer: -5", EIO)))
        }
        if let problem = Check.footerProblem(backup, now: options.now, ignoreTimestamps: options.ignoreTimestamps) {
            return .failure(CheckErrno(fail("backup footer invalid: \(problem)", EINVAL)))
        }
        if primary.encodedAsStored() != backupBytes {
            if options.ignoreFooter {
                primary = backup
            } else {
                var unhidden = backup
                unhidden.hidden = 0
                let early = backup.creatorVersion == 0x0000_0001 || backup.creatorVersion == 0x0001_0001
                let tolerated =
                    backup.hidden != 0 && backup.isTapCreated && early
                    && primary.encodedAsStored() == unhidden.encodedAsStored()
                if !tolerated {
                    return .failure(CheckErrno(fail("primary and backup footers do not match", EINVAL)))
                }
            }
        }
        return .success(primary)
    }

    /// `vhd_util_check_header`: the header at the footer's data offset.
    mutating func checkHeader(_ store: FileBlockStore, footer: Footer) -> Int32? {
        let offset = footer.dataOffset
        guard offset <= UInt64(Int64.max) else { return fail("error seeking to header: -22", EINVAL) }
        guard offset <= store.size, store.size - offset >= UInt64(DynamicHeader.size),
            let bytes = try? store.read(count: DynamicHeader.size, at: offset),
            let header = try? DynamicHeader(decoding: bytes)
        else {
            return fail("error reading header: -5", EIO)
        }
        if let problem = Check.headerProblem(header, fileSize: store.size) {
            return fail("header is invalid: \(problem)", EINVAL)
        }
        return nil
    }

    /// `vhd_util_check_validate_differencing_header`.
    func differencingHeaderProblem(_ image: Image.Libvhd) -> String? {
        guard let header = image.header else { return nil }
        if image.isDifferencing {
            if !options.ignoreTimestamps
                && header.parentTimestamp.secondsSince2000 > options.now &+ Check.timestampSlack
            {
                return "parent creation time in future"
            }
            if Image.Libvhd.decodeParentName(header: header, footer: image.footer) == nil {
                return "invalid parent name"
            }
            return nil
        }
        if Check.firstNonZero(header.parentNameBytes) != 0 { return "invalid non-null parent name" }
        if Check.firstNonZero(Check.hostOrderLocatorBytes(header.locators)) != 0 {
            return "invalid non-null parent locators"
        }
        if !header.parentUUID.isNull { return "invalid non-null parent uuid" }
        if header.parentTimestamp.secondsSince2000 != 0 { return "invalid non-zero parent timestamp" }
        return nil
    }
}

extension Footer {
    /// The 512 bytes with the checksum field as stored (not recomputed), for byte comparison.
    func encodedAsStored() -> [UInt8] {
        var bytes = encoded()
        for index in 0..<4 { bytes[64 + index] = UInt8(truncatingIfNeeded: storedChecksum >> (24 - 8 * index)) }
        return bytes
    }
}
