import BlockIO
import VHDFormat

extension Create {
    /// Makes the empty sparse image on `store` the image `options` describe by rewriting its
    /// footers, header, batmap header and locators — never its BAT, which in an image without
    /// blocks is all unused already. A leaf made this way from a spare costs the same few
    /// sectors at any size, where a new one writes 4 bytes of BAT per 2 MiB of disk.
    ///
    /// Refused (`invalidArgument`, nothing written) unless the image is laid out exactly as
    /// `options` would lay it out (same BAT place and entries, block size, locator slots) and
    /// holds no block: a block is always allocated past the headers, so an image that ends
    /// where its headers end has none. Flushes before returning.
    public static func reuse(emptyImageOn store: any BlockStore, options: Options) throws(VHDError) {
        try validate(options)
        guard options.diskType.isSparse else { throw .invalidArgument("only a sparse image can be reused") }
        let metadata = SparseMetadata(options)
        let (footer, header) = try readHeaders(store)
        guard footer.diskType?.isSparse == true, header.tableOffset == metadata.layout.batOffset,
            header.maxTableEntries == metadata.entries, header.blockSize == options.blockSize,
            store.size == metadata.imageEnd
        else {
            throw .invalidArgument(
                "the image is not an empty one laid out for \(metadata.entries) blocks of \(options.blockSize) bytes"
                    + " ending at \(metadata.imageEnd) (it has \(header.maxTableEntries) entries, ends at \(store.size))")
        }
        try VHDError.wrap { () throws(BlockIOError) in
            try store.write(metadata.tail, at: metadata.imageEnd - UInt64(metadata.tail.count))
            try store.write(metadata.batmap.encoded(), at: metadata.layout.batmapHeaderOffset)
            try store.write(metadata.head, at: 0)
            try store.flush()
        }
    }

    private static func readHeaders(_ store: any BlockStore) throws(VHDError) -> (Footer, DynamicHeader) {
        let bytes = try VHDError.wrap { () throws(BlockIOError) in
            try store.read(count: Int(Layout.headerOffset) + DynamicHeader.size, at: 0)
        }
        do {
            let footer = try Footer(decoding: Array(bytes[0..<Footer.size]))
            let header = try DynamicHeader(decoding: Array(bytes[Int(Layout.headerOffset)...]))
            return (footer, header)
        } catch {
            throw .invalidArgument("the image to reuse has no valid footer copy and header: \(error)")
        }
    }
}
