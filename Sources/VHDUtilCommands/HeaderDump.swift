import VHD
import VHDFormat

/// What `read -p` prints (blktap's `vhd_print_headers`): the footer, and for dynamic and
/// differencing disks the header, the parent locators and the batmap, gathered first and then
/// rendered byte for byte (`render`) or as JSON.
struct HeaderDump {
    enum BatmapSection {
        /// `vhd_get_batmap` failed: blktap prints `failed to get batmap header` and stops there.
        case unreadable
        case present(header: BatmapHeader, computedChecksum: UInt32, keyHash: Result<Image.Libvhd.KeyHash, VHDError>)
    }

    struct LocatorEntry {
        var slot: Int
        var locator: ParentLocator
        /// The decoded path, nil when it cannot be read (`failed to read parent name`).
        var decoded: String?
    }

    var footer: Footer
    var header: DynamicHeader?
    /// The decoded header parent name; nil prints `failed to read name`.
    var parentName: String?
    /// Present for differencing disks.
    var locators: [LocatorEntry]?
    var batmap: BatmapSection?

    /// Gathers the dump of an opened image.
    init(_ image: Image.Libvhd) {
        footer = image.footer
        header = image.header
        if let header {
            parentName = Image.Libvhd.decodeParentName(header: header, footer: footer)
            if image.isDifferencing {
                locators = header.locators.enumerated().filter { $0.element.platformCodeValue != 0 }.map {
                    slot, locator in
                    LocatorEntry(slot: slot, locator: locator, decoded: try? image.readLocator(locator))
                }
            }
            if image.hasBatmap {
                if let (batmapHeader, map) = try? image.batmap() {
                    let checksum = BatmapHeader.checksum(
                        of: map, currentSize: footer.currentSize, version: batmapHeader.version)
                    let keyHash = Result { () throws(VHDError) in try image.keyHash() }
                    batmap = .present(header: batmapHeader, computedChecksum: checksum, keyHash: keyHash)
                } else {
                    batmap = .unreadable
                }
            }
        }
    }

    /// The footer and header as read without validation, for the dump printed when the image
    /// cannot be opened (blktap's `vhd_dump_headers`, which prints both sections, nothing else).
    init(footer: Footer, rawHeader: DynamicHeader) {
        self.footer = footer
        header = rawHeader
        parentName = Image.Libvhd.decodeParentName(header: rawHeader, footer: footer)
    }

    // MARK: Text

    /// The exact bytes blktap prints; numbers in `%#llx` hex with `hex`.
    func render(hex: Bool) -> [UInt8] {
        var text = TextBuffer(hex: hex)
        renderFooter(&text)
        guard let header else { return text.bytes }
        renderHeader(header, &text)
        if let locators {
            text.line("VHD Parent Locators:\n--------------------")
            for entry in locators { renderLocator(entry, &text) }
        }
        switch batmap {
        case .unreadable: text.line("failed to get batmap header")
        case .present(let batmapHeader, let checksum, let keyHash): renderBatmap(batmapHeader, checksum, keyHash, &text)
        case nil: break
        }
        return text.bytes
    }

    private func renderFooter(_ text: inout TextBuffer) {
        let footer = self.footer
        text.line("VHD Footer Summary:\n-------------------")
        text.append("Cookie              : ")
        text.append(bytes: footer.cookie.prefix { $0 != 0 })
        text.line("")
        let temporary = footer.features & Footer.temporaryFeature != 0 ? "<TEMP>" : ""
        let reserved = footer.features & Footer.reservedFeature != 0 ? "<RESV>" : ""
        text.line("Features            : (0x\(hex8(footer.features))) \(temporary)\(reserved)")
        text.line(
            "File format version : Major: \(footer.fileFormatVersion >> 16), Minor: \(footer.fileFormatVersion & 0xFFFF)"
        )
        text.line("Data offset         : \(text.number(footer.dataOffset))")
        text.line("Timestamp           : \(CFormat.ctime(footer.timestamp.secondsSince2000))")
        text.append("Creator Application : '")
        text.append(bytes: footer.creatorApplication.prefix { $0 != 0 })
        text.line("'")
        text.line(
            "Creator version     : Major: \(footer.creatorVersion >> 16), Minor: \(footer.creatorVersion & 0xFFFF)")
        text.line("Creator OS          : \(Self.hostName(footer.creatorHostOS))")
        text.line(
            "Original disk size  : \(text.number(footer.originalSize >> 20)) MB (\(text.number(footer.originalSize)) Bytes)"
        )
        text.line(
            "Current disk size   : \(text.number(footer.currentSize >> 20)) MB (\(text.number(footer.currentSize)) Bytes)"
        )
        let cylinders = UInt64(footer.geometry.cylinders)
        let heads = UInt64(footer.geometry.heads)
        let sectors = UInt64(footer.geometry.sectorsPerTrack)
        let chs = cylinders * heads * sectors
        text.line(
            "Geometry            : Cyl: \(text.number(cylinders)), Hds: \(text.number(heads)), Sctrs: \(text.number(sectors))"
        )
        text.line("                    : = \(text.number(chs >> 11)) MB (\(text.number(chs << 9)) Bytes)")
        text.line("Disk type           : \(Self.diskTypeName(footer.diskTypeValue))")
        let computed = footer.computedChecksum
        text.line(Self.checksumLine(stored: footer.storedChecksum, computed: computed))
        text.line("UUID                : \(footer.uuid)")
        text.line("Saved state         : \(footer.savedState == 0 ? "No" : "Yes")")
        text.line("Hidden              : \(Int8(bitPattern: footer.hidden))")
        text.line("")
    }

    private func renderHeader(_ header: DynamicHeader, _ text: inout TextBuffer) {
        text.line("VHD Header Summary:\n-------------------")
        text.append("Cookie              : ")
        text.append(bytes: header.cookie.prefix { $0 != 0 })
        text.line("")
        text.line("Data offset (unusd) : \(text.number(header.dataOffset))")
        text.line("Table offset        : \(text.number(header.tableOffset))")
        text.line("Header version      : 0x\(hex8(header.headerVersion))")
        text.line("Max BAT size        : \(text.number(UInt64(header.maxTableEntries)))")
        text.line(
            "Block size          : \(text.number(UInt64(header.blockSize))) (\(text.number(UInt64(header.blockSize >> 20))) MB)"
        )
        text.line("Parent name         : \(parentName ?? "failed to read name")")
        text.line("Parent UUID         : \(header.parentUUID)")
        text.line("Parent timestamp    : \(CFormat.ctime(header.parentTimestamp.secondsSince2000))")
        text.line(Self.checksumLine(stored: header.storedChecksum, computed: header.computedChecksum))
        text.line("")
    }

    private func renderLocator(_ entry: LocatorEntry, _ text: inout TextBuffer) {
        let locator = entry.locator
        text.line("locator:            : \(entry.slot)")
        text.line("       code         : \(locator.platformCode?.blktapName ?? "UNKOWN")")
        text.line("       data_space   : \(text.number(UInt64(locator.dataSpace)))")
        text.line("       data_length  : \(text.number(UInt64(locator.dataLength)))")
        text.line("       data_offset  : \(text.number(locator.dataOffset))")
        if let decoded = entry.decoded {
            text.line("       decoded name : \(decoded)")
        } else {
            text.line("failed to read parent name")
        }
        text.line("")
    }

    private func renderBatmap(
        _ batmap: BatmapHeader, _ computed: UInt32, _ keyHash: Result<Image.Libvhd.KeyHash, VHDError>,
        _ text: inout TextBuffer
    ) {
        text.line("VHD Batmap Summary:\n-------------------")
        text.line("Batmap offset       : \(text.number(batmap.mapOffset))")
        text.line("Batmap size (secs)  : \(text.number(UInt64(batmap.mapSectors)))")
        text.line("Batmap version      : 0x\(hex8(batmap.version))")
        switch keyHash {
        case .failure(let error): text.line("error reading keyhash: -\(error.errno)")
        case .success(let hash) where hash.cookie == 1:
            text.line("Batmap keyhash nonce: \(CFormat.hexBytes(hash.nonce))")
            text.line("Batmap keyhash hash : \(CFormat.hexBytes(hash.hash))")
        case .success: break
        }
        text.line(Self.checksumLine(stored: batmap.checksum, computed: computed))
        text.line("")
    }

    static func checksumLine(stored: UInt32, computed: UInt32) -> String {
        "Checksum            : 0x\(String(stored, radix: 16))|0x\(String(computed, radix: 16)) (\(stored == computed ? "Good!" : "Bad!"))"
    }

    /// blktap's `hd_type_str`; a type past 6 prints `Unknown type!` with an extra newline.
    static func diskTypeName(_ value: UInt32) -> String {
        switch value {
        case 0: return "None"
        case 1, 5, 6: return "Reserved (deprecated)"
        case 2: return "Fixed hard disk"
        case 3: return "Dynamic hard disk"
        case 4: return "Differencing hard disk"
        default: return "Unknown type!\n"
        }
    }

    static func hostName(_ value: UInt32) -> String {
        switch value {
        case 0x5769_326B: return "Windows"
        case 0x4D61_6320: return "Macintosh"
        default: return "Unknown!"
        }
    }

    // MARK: JSON

    var json: JSON {
        var members: [(String, JSON)] = [("footer", footerJSON)]
        if let header {
            members.append(("header", headerJSON(header)))
        }
        if let locators {
            members.append(
                (
                    "parent_locators",
                    .array(
                        locators.map { entry in
                            .object([
                                ("slot", .integer(Int64(entry.slot))),
                                ("code", .string(entry.locator.platformCode?.blktapName ?? "UNKOWN")),
                                ("data_space", .unsigned(UInt64(entry.locator.dataSpace))),
                                ("data_length", .unsigned(UInt64(entry.locator.dataLength))),
                                ("data_offset", .unsigned(entry.locator.dataOffset)),
                                ("decoded_name", .optional(entry.decoded)),
                            ])
                        })
                ))
        }
        switch batmap {
        case .unreadable: members.append(("batmap", .object([("error", .string("failed to get batmap header"))])))
        case .present(let batmapHeader, let computed, let keyHash):
            var batmapMembers: [(String, JSON)] = [
                ("offset", .unsigned(batmapHeader.mapOffset)),
                ("size_sectors", .unsigned(UInt64(batmapHeader.mapSectors))),
                ("version", .unsigned(UInt64(batmapHeader.version))),
                ("marker", .unsigned(UInt64(batmapHeader.marker))),
                ("checksum", .unsigned(UInt64(batmapHeader.checksum))),
                ("checksum_valid", .bool(batmapHeader.checksum == computed)),
            ]
            if case .success(let hash) = keyHash, hash.cookie == 1 {
                batmapMembers.append(("keyhash_nonce", .string(CFormat.hexBytes(hash.nonce))))
                batmapMembers.append(("keyhash_hash", .string(CFormat.hexBytes(hash.hash))))
            }
            members.append(("batmap", .object(batmapMembers)))
        case nil: break
        }
        return .object(members)
    }

    private var footerJSON: JSON {
        .object([
            ("cookie", .string(String(decoding: footer.cookie.prefix { $0 != 0 }, as: UTF8.self))),
            ("features", .unsigned(UInt64(footer.features))),
            ("file_format_version", .unsigned(UInt64(footer.fileFormatVersion))),
            ("data_offset", .unsigned(footer.dataOffset)),
            ("timestamp", .integer(footer.timestamp.unixTime)),
            ("creator_application", .string(footer.creatorApplicationText)),
            ("creator_version", .unsigned(UInt64(footer.creatorVersion))),
            ("creator_os", .unsigned(UInt64(footer.creatorHostOS))),
            ("original_size", .unsigned(footer.originalSize)),
            ("current_size", .unsigned(footer.currentSize)),
            (
                "geometry",
                .object([
                    ("cylinders", .unsigned(UInt64(footer.geometry.cylinders))),
                    ("heads", .unsigned(UInt64(footer.geometry.heads))),
                    ("sectors_per_track", .unsigned(UInt64(footer.geometry.sectorsPerTrack))),
                ])
            ),
            ("disk_type", .unsigned(UInt64(footer.diskTypeValue))),
            ("checksum", .unsigned(UInt64(footer.storedChecksum))),
            ("checksum_valid", .bool(footer.storedChecksum == footer.computedChecksum)),
            ("uuid", .string(footer.uuid.description)),
            ("saved_state", .unsigned(UInt64(footer.savedState))),
            ("hidden", .unsigned(UInt64(footer.hidden))),
        ])
    }

    private func headerJSON(_ header: DynamicHeader) -> JSON {
        .object([
            ("cookie", .string(String(decoding: header.cookie.prefix { $0 != 0 }, as: UTF8.self))),
            ("data_offset", .unsigned(header.dataOffset)),
            ("table_offset", .unsigned(header.tableOffset)),
            ("header_version", .unsigned(UInt64(header.headerVersion))),
            ("max_bat_size", .unsigned(UInt64(header.maxTableEntries))),
            ("block_size", .unsigned(UInt64(header.blockSize))),
            ("parent_name", .optional(parentName)),
            ("parent_uuid", .string(header.parentUUID.description)),
            ("parent_timestamp", .integer(header.parentTimestamp.unixTime)),
            ("checksum", .unsigned(UInt64(header.storedChecksum))),
            ("checksum_valid", .bool(header.storedChecksum == header.computedChecksum)),
        ])
    }
}

/// Text assembled as bytes, so raw fields (cookies, creator) come out exactly as stored.
struct TextBuffer {
    let hex: Bool
    private(set) var bytes: [UInt8] = []

    init(hex: Bool) { self.hex = hex }

    mutating func append(_ text: String) { bytes += text.utf8 }
    mutating func append<S: Sequence>(bytes more: S) where S.Element == UInt8 { bytes += more }
    mutating func line(_ text: String) {
        bytes += text.utf8
        bytes.append(0x0A)
    }

    /// blktap `read`'s `conv`: decimal, or `%#llx` hex.
    func number(_ value: UInt64) -> String { hex ? CFormat.alternateHex(value) : String(value) }
}
