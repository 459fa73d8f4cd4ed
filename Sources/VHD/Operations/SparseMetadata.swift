import Glibc
import VHDFormat

/// The metadata of a new dynamic or differencing image in blktap's layout (`__vhd_create`):
/// footer copy, header, BAT, batmap header and map, locators, footer. Kept as its pieces so
/// an image can be made whole (`bytes`) or an empty one re-described without its BAT
/// (`Create.reuse(emptyImageOn:options:)`).
struct SparseMetadata {
    let layout: Layout.NewImage
    /// BAT entries, sized for `max(virtualSize, preallocatedSize)`.
    let entries: UInt32
    /// The footer, also written as the copy at offset 0.
    let footer: Footer
    /// The dynamic header, with the parent's identity and locators for a differencing image.
    let header: DynamicHeader
    /// The batmap header; its checksum covers the (all-zero) map and the disk's size.
    let batmap: BatmapHeader
    /// The locator payloads, at `layout.locatorOffsets`.
    let locatorPayloads: [[UInt8]]

    init(_ options: Create.Options) {
        let sizedFor = max(options.virtualSize, options.preallocatedSize ?? 0)
        entries = UInt32(Layout.blockCount(size: sizedFor, blockSize: options.blockSize))
        let locators = options.parent == nil ? [] : Layout.blktapLocatorCodes
        layout = Layout.newImage(maxTableEntries: entries, locatorCount: locators.count)
        var footer = Footer(
            diskType: options.diskType, currentSize: options.virtualSize, uuid: options.uuid,
            timestamp: options.timestamp, dataOffset: Layout.headerOffset)
        footer.storedChecksum = footer.computedChecksum
        self.footer = footer
        var header = DynamicHeader(tableOffset: layout.batOffset, maxTableEntries: entries, blockSize: options.blockSize)
        var payloads: [[UInt8]] = []
        if let parent = options.parent {
            header.parentUUID = parent.uuid
            header.parentTimestamp = parent.timestamp
            header.parentName = parent.name
            for (slot, code) in locators.enumerated() {
                let payload = Array(ParentLocator.encodePath(parent.relativePath, as: code).prefix(Int(Layout.blktapLocatorSize)))
                header.locators[slot] = ParentLocator(
                    platformCodeValue: code.rawValue, dataSpace: UInt32(Layout.blktapLocatorSize),
                    dataLength: UInt32(payload.count), dataOffset: layout.locatorOffsets[slot])
                payloads.append(payload)
            }
        }
        self.header = header
        locatorPayloads = payloads
        var batmap = BatmapHeader(mapOffset: layout.batmapMapOffset, mapSectors: layout.batmapMapSectors)
        batmap.checksum = BatmapHeader.checksum(
            of: [UInt8](repeating: 0, count: Int(layout.batmapMapSectors) * Int(sectorSize)),
            currentSize: options.virtualSize, version: batmap.version)
        self.batmap = batmap
    }

    /// The byte just past the image: the end of the headers plus the footer.
    var imageEnd: UInt64 { layout.endOfHeaders + UInt64(Footer.size) }

    /// Footer copy and header: everything before the BAT.
    var head: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(layout.batOffset))
        bytes.setBytesAt(footer.encoded(), 0)
        bytes.setBytesAt(header.encoded(), Int(Layout.headerOffset))
        return bytes
    }

    /// Locators and footer: everything after the batmap's map.
    var tail: [UInt8] {
        let start = Int(layout.batmapMapOffset) + Int(layout.batmapMapSectors) * Int(sectorSize)
        var bytes = [UInt8](repeating: 0, count: Int(imageEnd) - start)
        for (slot, payload) in locatorPayloads.enumerated() {
            bytes.setBytesAt(payload, Int(layout.locatorOffsets[slot]) - start)
        }
        bytes.setBytesAt(footer.encoded(), Int(layout.endOfHeaders) - start)
        return bytes
    }

    /// The whole image.
    var bytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(imageEnd))
        bytes.setBytesAt(head, 0)
        // An empty BAT is all 0xFFFFFFFF entries then zero padding: filled in place, since it is
        // the one structure whose size follows the disk's (4 MiB for 2 TiB).
        let batStart = Int(layout.batOffset)
        let count = Int(entries) * 4
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { _ = memset(base + batStart, 0xFF, count) }
        }
        bytes.setBytesAt(batmap.encoded(), Int(layout.batmapHeaderOffset))
        let tail = self.tail
        bytes.setBytesAt(tail, Int(imageEnd) - tail.count)
        return bytes
    }
}
