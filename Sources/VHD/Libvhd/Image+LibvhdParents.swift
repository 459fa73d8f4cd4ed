import Glibc
import VHDFormat

extension Image.Libvhd {
    /// `vhd_header_decode_parent`: the header's parent name, UTF-16BE (UTF-16 for tap 0.1),
    /// which must convert to ASCII as a whole (`LocatorPath`, `.ascii`).
    public static func decodeParentName(header: DynamicHeader, footer: Footer) -> String? {
        let bytes = header.parentNameBytes
        var bigEndian = true
        var start = 0
        if footer.isTapCreated && footer.creatorVersion == 0x0000_0001 && bytes.count >= 2 {
            if bytes[0] == 0xFF && bytes[1] == 0xFE {
                bigEndian = false
                start = 2
            }
            if bytes[0] == 0xFE && bytes[1] == 0xFF { start = 2 }
        }
        return LocatorPath.decodeUTF16(Array(bytes[start...]), bigEndian: bigEndian, characters: .ascii)
    }

    /// `vhd_parent_locator_read`: the path a MacX, W2ku or W2ru locator holds.
    ///
    /// - Throws: `.invalid` (blktap −EINVAL) for other codes, a zero size or undecodable data,
    ///   `.io` for a short read.
    public func readLocator(_ locator: ParentLocator) throws(VHDError) -> String {
        guard isDifferencing else { throw .invalid(image: path, problem: "not a differencing disk") }
        guard let code = locator.platformCode, code == .macX || code == .w2ku || code == .w2ru else {
            throw .invalid(image: path, problem: "locator code cannot be decoded")
        }
        let size = Self.locatorSize(locator)
        guard size > 0, size <= UInt64(Int32.max) else { throw .invalid(image: path, problem: "invalid locator size") }
        let raw = try read(count: Int(size), at: locator.dataOffset)
        let payload = Array(raw.prefix(Int(min(UInt64(locator.dataLength), size))))
        guard let decoded = LocatorPath.decode(payload, code: code, characters: .ascii) else {
            throw .invalid(image: path, problem: "undecodable parent locator")
        }
        return decoded
    }

    /// `vhd_parent_locator_get`: the first locator that decodes (and, with `resolve`, names a
    /// readable file) gives the parent path.
    ///
    /// - Throws: `.invalid` when no locator decodes, else the last resolution error.
    public func parentPath(resolve: Bool = true) throws(VHDError) -> String {
        guard let header, isDifferencing else { throw .invalid(image: path, problem: "not a differencing disk") }
        var failure: VHDError = .invalid(image: path, problem: "no parent locator could be read")
        for locator in header.locators {
            guard let name = try? readLocator(locator) else { continue }
            if !resolve { return name }
            do { return try findParent(name) } catch { failure = error }
        }
        throw failure
    }

    /// `vhd_find_parent`: an absolute readable path as is, else the path relative to the
    /// child's canonical directory, canonicalised.
    public func findParent(_ parent: String) throws(VHDError) -> String {
        if parent.hasPrefix("/") && access(parent, R_OK) == 0 { return parent }
        guard let child = FileParentResolver.canonicalPath(path) else {
            throw Image.systemError(call: "realpath", errno: errno, path: path)
        }
        let location = FileParentResolver.directory(of: child) + "/" + parent
        guard access(location, R_OK) == 0 else {
            throw Image.systemError(call: "access", errno: errno, path: location)
        }
        guard let canonical = FileParentResolver.canonicalPath(location) else {
            throw Image.systemError(call: "realpath", errno: errno, path: location)
        }
        return canonical
    }

    /// `vhd_chain_depth`: the images in the chain, plus one for a raw parent. Parents are
    /// opened without `IGNORE_DISABLED`, as blktap does.
    public func chainDepth() throws(VHDError) -> Int {
        var depth = 0
        var current = self
        while true {
            depth += 1
            guard current.isDifferencing else { return depth }
            if current.hasRawParent { return depth + 1 }
            if depth > 4096 { throw .parentCycle(chain: [path]) }
            let parent = try current.parentPath()
            current = try Image.open(path: parent, options: .libvhd(ignoreDisabled: false)).libvhd
        }
    }
}
