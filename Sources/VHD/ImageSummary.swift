import BlockIO
import VHDFormat

/// What a scan needs of a VHD, read cheaply (blktap's `vhd_open_fast`): the footer and the
/// dynamic header, and the parent reference from the first usable locator; never the BAT.
public struct ImageSummary: Sendable, Equatable {
    public var footer: Footer
    public var header: DynamicHeader?
    /// The parent as the locators name it (`./base.vhd`), nil without a parent.
    public var parentReference: String?
    /// Whether the image holds no block: its file ends right after its metadata and footer.
    /// Trailing bytes of any other kind count as data, so the answer errs towards "not empty".
    public var isEmpty = false

    public var virtualSize: UInt64 { footer.currentSize }
    public var isHidden: Bool { footer.isHidden }
    public var uuid: VHDUUID { footer.uuid }
    public var parentUUID: VHDUUID? { footer.diskType == .differencing ? header?.parentUUID : nil }

    /// Reads the summary of the VHD on `store`; the footer comes from the end, else the copy
    /// at 0 (as `Image.open`), and the header is validated.
    public static func read(store: any BlockStore, name: String) throws(VHDError) -> ImageSummary {
        let (footer, _) = try Image.readFooter(store: store, name: name)
        guard footer.diskType?.isSparse == true else { return ImageSummary(footer: footer, header: nil, parentReference: nil) }
        let header = try Image.readHeader(store: store, name: name, footer: footer)
        let batmap = try? Image.readBatmap(store: store, name: name, footer: footer, header: header, strict: false).0
        let empty = store.size <= Layout.endOfHeaders(footer: footer, header: header, batmap: batmap) + UInt64(Footer.size)
        guard footer.diskType == .differencing else {
            return ImageSummary(footer: footer, header: header, parentReference: nil, isEmpty: empty)
        }
        var reference: String?
        for (_, locator) in header.usedLocators {
            let length = UInt64(locator.dataLength)
            guard length > 0, length <= 65536, locator.dataOffset < store.size, store.size - locator.dataOffset >= length
            else { continue }
            let data = try VHDError.wrap { () throws(BlockIOError) in try store.read(count: Int(length), at: locator.dataOffset) }
            if let path = locator.decodePath(data), !path.isEmpty {
                reference = path
                break
            }
        }
        if reference == nil, !header.parentName.isEmpty { reference = header.parentName }
        return ImageSummary(footer: footer, header: header, parentReference: reference, isEmpty: empty)
    }
}
