import BlockIO
import Glibc
import VHD
import VHDFormat

/// Opening images for the commands that change them, with blktap's `vhd_open(RDWR)` outcome
/// (and errno) before the engine operation runs.
enum WritableAccess {
    /// What `vhd_open(name, VHD_OPEN_RDWR)` would say: nil when it opens, else the error.
    static func openError(_ path: String, useBackupFooter: Bool = false) -> VHDError? {
        do {
            _ = try Image.open(path: path, options: .libvhd(ignoreDisabled: false, backupFooter: useBackupFooter)).libvhd
            _ = try FileBlockStore(path: path, readOnly: false)
            return nil
        } catch let error as VHDError {
            return error
        } catch let error as BlockIOError {
            return .io(error)
        } catch {
            return .invalidArgument("\(error)")
        }
    }

    /// Sets blktap's marker byte: in the batmap header when the image has a batmap, else in the
    /// `user.com.citrix.xenclient.backend.marker` extended attribute (`vhd_set_marker`).
    /// Only the 512-byte header is written, not blktap's 1024 bytes, which also zeroed the
    /// first sector of the map and broke its checksum.
    static func setMarker(_ path: String, _ marker: UInt8) throws(VHDError) {
        try updateBatmapHeader(path, attribute: "user.com.citrix.xenclient.backend.marker", value: [marker]) {
            $0.marker = marker
        }
    }

    /// Sets the key hash (cookie 1, nonce, hash) the way `vhd_set_keyhash` does.
    static func setKeyHash(_ path: String, nonce: [UInt8], hash: [UInt8]) throws(VHDError) {
        try updateBatmapHeader(path, attribute: "user.com.citrix.xenclient.backend.keyhash", value: [1] + nonce + hash)
        {
            $0.keyHashCookie = 1
            $0.keyHashNonce = nonce
            $0.keyHashHash = hash
        }
    }

    private static func updateBatmapHeader(
        _ path: String, attribute: String, value: [UInt8], change: (inout BatmapHeader) -> Void
    ) throws(VHDError) {
        let image = try Image.open(path: path, options: .libvhd(ignoreDisabled: false)).libvhd
        guard image.hasBatmap, let header = image.header else {
            try setAttribute(path, attribute, value)
            return
        }
        var batmap = try image.batmapHeader()
        change(&batmap)
        let store: FileBlockStore
        do { store = try FileBlockStore(path: path, readOnly: false) } catch { throw .io(error) }
        do {
            try store.write(batmap.encoded(), at: Layout.batmapHeaderOffset(header: header))
            try store.flush()
        } catch {
            throw .io(error)
        }
    }

    typealias SetxattrFunction =
        @convention(c) (
            UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeRawPointer?, Int, Int32
        ) -> Int32

    /// `setxattr(2)`, looked up at run time (the Glibc module does not export `<sys/xattr.h>`).
    /// The corresponding C function is `setxattr`.
    static let setxattrFunction: SetxattrFunction? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setxattr") else { return nil }
        return unsafeBitCast(symbol, to: SetxattrFunction.self)
    }()

    private static func setAttribute(_ path: String, _ name: String, _ value: [UInt8]) throws(VHDError) {
        guard let setxattr = setxattrFunction else {
            throw .unsupported(image: path, operation: "extended attributes", errno: 95)
        }
        let result = value.withUnsafeBytes { setxattr(path, name, $0.baseAddress, $0.count, 0) }
        if result != 0 { throw .io(.system(call: "setxattr", errno: errno, path: path)) }
    }
}

extension Console {
    /// blktap's failure injection (`TEST_FAIL_AT`): when `VHD_UTIL_TEST_FAIL_<point>` is set,
    /// prints `Failing at VHD_UTIL_TEST_FAIL_<point>` and exits with EINVAL on the spot, leaving
    /// the image and its journal as a crash would.
    func failurePoint(_ point: String) {
        let variable = "VHD_UTIL_TEST_FAIL_" + point
        guard getenv(variable) != nil else { return }
        print("Failing at \(variable)")
        out.flush()
        err.flush()
        exit(Errno.invalid)
    }
}
