import VHDFormat

extension Resize {
    /// Puts back the footer a fast resize replaced (`footer`, as read before it), undoing a
    /// resize whose caller could not commit it. Only the footer and the batmap checksum that
    /// depends on its size change: a fast resize moves nothing else.
    public static func restore(_ image: Image, footer: Footer) throws(VHDError) {
        try image.updateFooter { $0 = footer }
        try image.refreshBatmapChecksum()
        try image.flush()
    }
}
