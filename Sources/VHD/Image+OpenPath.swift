import BlockIO
import Glibc
import VHDFormat

extension Image {
    /// Opens the VHD file at `path` (`open(store:name:options:)` over a `FileBlockStore`).
    ///
    /// With `.libvhd` validation the path is first checked as libvhd's `vhd_open` does: a
    /// missing file is `.notFound` from `stat`, a name of 1024 bytes or more `ENAMETOOLONG`.
    public static func open(path: String, options: OpenOptions = .readOnly) throws(VHDError) -> Image {
        if case .libvhd = options.validation {
            var info = stat()
            if stat(path, &info) != 0 { throw systemError(call: "stat", errno: errno, path: path) }
            if path.utf8.count >= 1024 { throw systemError(call: "open", errno: ENAMETOOLONG, path: path) }
        }
        return try open(store: try FileAccess.store(path, writable: options.writable), name: path, options: options)
    }

    /// The footer and header as blktap's `vhd_dump_headers` finds them for an image that does
    /// not open: the footer from the last place `vhd_read_footer` tried (the end of the file
    /// when valid, else the copy at offset 0), the header at its data offset when the
    /// footer's type has one, each all zeros when it could not be read. Nil when the file
    /// cannot be opened.
    public static func unvalidatedHeaders(path: String) -> (Footer, DynamicHeader)? {
        guard let store = try? FileBlockStore(path: path, readOnly: true) else { return nil }
        let size = store.size
        func validFooter(_ bytes: [UInt8]) -> Bool {
            if case .success = Footer.checked(bytes) { return true }
            return false
        }
        var footerBytes = [UInt8](repeating: 0, count: Footer.size)
        var found = false
        if size >= 512, let bytes = try? store.read(count: 512, at: size - 512) {
            footerBytes = bytes
            found = validFooter(bytes)
        }
        if !found && size >= 511 && size % 512 == 511, let bytes = try? store.read(count: 511, at: size - 511) {
            footerBytes = bytes + [0]
            found = validFooter(footerBytes)
        }
        if !found && size >= 512, let bytes = try? store.read(count: 512, at: 0) {
            footerBytes = bytes
        }
        guard let footer = try? Footer(decoding: footerBytes),
            let zeroHeader = try? DynamicHeader(decoding: [UInt8](repeating: 0, count: DynamicHeader.size))
        else { return nil }
        var header = zeroHeader
        let offset = footer.dataOffset
        if footer.diskType?.isSparse == true, offset <= size, size - offset >= UInt64(DynamicHeader.size),
            let bytes = try? store.read(count: DynamicHeader.size, at: offset),
            let decoded = try? DynamicHeader(decoding: bytes)
        {
            header = decoded
        }
        return (footer, header)
    }

    /// A failed system call as libvhd reports it: ENOENT is `.notFound`, the rest `.io`.
    static func systemError(call: String, errno code: Int32, path: String) -> VHDError {
        code == ENOENT ? .notFound(path: path) : .io(.system(call: call, errno: code, path: path))
    }
}
