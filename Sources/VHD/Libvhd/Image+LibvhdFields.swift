import Glibc
import VHDFormat

extension Image.Libvhd {
    /// `vhd_hidden`: the footer's flag, from the copy at offset 0 for tap 0.1/1.1 images; as C
    /// `char`, so 0xFF is −1.
    public func hidden() throws(VHDError) -> Int8 {
        let early = footer.creatorVersion == 0x0000_0001 || footer.creatorVersion == 0x0001_0001
        if isDynamic && footer.isTapCreated && early {
            switch Footer.checked(try read(count: Footer.size, at: 0)) {
            case .success(let copy): return Int8(bitPattern: copy.hidden)
            case .failure(let problem): throw .invalid(image: path, problem: "footer copy at offset 0: \(problem)")
            }
        }
        return Int8(bitPattern: footer.hidden)
    }

    /// `vhd_marker`: the batmap header's marker, else the `user.com.citrix.xenclient.backend.marker`
    /// extended attribute (absent reads as 0).
    public func marker() throws(VHDError) -> Int8 {
        if hasBatmap { return Int8(bitPattern: try batmapHeader().marker) }
        let bytes = try extendedAttribute("user.com.citrix.xenclient.backend.marker", size: 1)
        return Int8(bitPattern: bytes[0])
    }

    /// A key hash: cookie (1 when set), nonce and SHA-256 hash, 32 bytes each.
    public struct KeyHash: Sendable, Equatable {
        /// 1 when a key hash is set.
        public var cookie: UInt8
        /// 32 bytes of nonce.
        public var nonce: [UInt8]
        /// SHA-256(nonce ‖ key), 32 bytes.
        public var hash: [UInt8]
    }

    /// `vhd_get_keyhash`: from the batmap header, else the `…backend.keyhash` extended attribute.
    public func keyHash() throws(VHDError) -> KeyHash {
        if hasBatmap {
            let header = try batmapHeader()
            return KeyHash(cookie: header.keyHashCookie, nonce: header.keyHashNonce, hash: header.keyHashHash)
        }
        let bytes = try extendedAttribute("user.com.citrix.xenclient.backend.keyhash", size: 65)
        return KeyHash(cookie: bytes[0], nonce: Array(bytes[1..<33]), hash: Array(bytes[33..<65]))
    }

    /// blktap's `xattr_get` on the image's path: the attribute's bytes, zeros when it is absent
    /// or unsupported.
    func extendedAttribute(_ name: String, size: Int) throws(VHDError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        guard let getxattr = Self.getxattrFunction else { return bytes }
        let result = bytes.withUnsafeMutableBytes { getxattr(path, name, $0.baseAddress, size) }
        if result < 0 {
            let code = errno
            if code == ENODATA || code == ENOTSUP { return [UInt8](repeating: 0, count: size) }
            throw Image.systemError(call: "getxattr", errno: code, path: path)
        }
        return bytes
    }

    /// `getxattr(2)`, looked up at run time: the Glibc module does not export `<sys/xattr.h>`.
    /// The corresponding C function is `getxattr`.
    static let getxattrFunction: GetxattrFunction? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "getxattr") else { return nil }
        return unsafeBitCast(symbol, to: GetxattrFunction.self)
    }()

    typealias GetxattrFunction =
        @convention(c) (
            UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, Int
        ) -> Int
}
