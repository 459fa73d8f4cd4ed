import VHDFormat

/// A copy-on-write disk image, one layer of a chain, as the SR engine sees it: the seam that
/// lets a second format (qcow2) be added without touching the SR engine.
public protocol CowImage: AnyObject, Sendable {
    /// The name used in errors (a path, an LV name).
    var name: String { get }
    /// The disk's size as the guest sees it, in bytes.
    var virtualSize: UInt64 { get }
    /// Whether the image is a hidden (non-leaf) node of a snapshot tree.
    var isHidden: Bool { get }
    /// Whether the image reads unallocated ranges from a parent.
    var hasParent: Bool { get }
    /// How the parent is named from this image (a locator path), nil without a parent.
    func parentReference() throws(VHDError) -> String?
    /// The ranges this layer holds data for.
    func allocatedRanges() throws(VHDError) -> [Range<UInt64>]
    /// Splits `range` into runs this layer holds and runs it leaves to its parent.
    func extents(in range: Range<UInt64>) throws(VHDError) -> [Image.Extent]
    /// Reads bytes this layer holds (an extent reported present).
    func readPresent(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(VHDError)
    /// Writes whole sectors into this layer.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(VHDError)
    /// Sets the hidden flag.
    func setHidden(_ hidden: Bool) throws(VHDError)
    func flush() throws(VHDError)
}

extension Image: CowImage {
    public var hasParent: Bool { isDifferencing }

    public func parentReference() throws(VHDError) -> String? {
        isDifferencing ? try ParentLocation.reference(of: self) : nil
    }
}
