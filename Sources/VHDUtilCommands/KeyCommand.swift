import VHD

/// `vhd-util key`: prints (`-p`) or sets from a given hash (`-s -H HASH [-N NONCE]`) the
/// encryption key hash. Hashing a key file (`-C`, `-c`, `-s -k`) needs blktap's crypto library
/// and is not supported.
struct KeyCommand: Subcommand {
    static let name = "key"
    static let optionString = "n:k:N:H:scCph"
    static let usage = Usage.key

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var path: String?
        var keyPath: String?
        var nonce: String?
        var hash: String?
        var set = false
        var check = false
        var calculate = false
        var print = false
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("n", let value): path = value
            case .option("k", let value): keyPath = value
            case .option("N", let value): nonce = value
            case .option("H", let value): hash = value
            case .option("s", _): set = true
            case .option("c", _): check = true
            case .option("C", _): calculate = true
            case .option("p", _): print = true
            case .option("h", _): return keyUsage(console, 0)
            default: return keyUsage(console, Errno.invalid)
            }
        }
        guard getopt.operands.isEmpty else { return keyUsage(console, Errno.invalid) }
        if calculate || check || (set && keyPath != nil && hash == nil) {
            console.printError("key: hashing key files needs blktap's crypto library, which is not supported")
            return Errno.notImplemented
        }
        guard let path else { return keyUsage(console, Errno.invalid) }
        if set && (keyPath == nil) == (hash == nil) { return keyUsage(console, Errno.invalid) }
        if !set && !print { return keyUsage(console, Errno.invalid) }
        let image: Image.Libvhd
        do { image = try Image.open(path: path, options: .libvhd(ignoreDisabled: false)).libvhd } catch {
            console.printError("failed to open \(path): -\(error.errno)")
            return error.errno
        }
        var status: Int32 = 0
        if set, let hash {
            status = setKey(image, hash: hash, nonce: nonce, console)
            if status != 0 { console.printError("setting key failed: -\(status)") }
        }
        if print {
            do {
                let keyHash = try image.keyHash()
                if keyHash.cookie != 1 {
                    console.print("none")
                } else {
                    console.print(CFormat.hexBytes(keyHash.nonce) + " " + CFormat.hexBytes(keyHash.hash))
                }
                status = 0
            } catch {
                console.printError("failed to read keyhash: -\(error.errno)")
                status = error.errno
            }
        }
        return status
    }

    static func keyUsage(_ console: Console, _ status: Int32) -> Int32 {
        console.err.write(usage)
        return status
    }

    /// blktap's `vhd_util_set_key` with a given hash: only on empty dynamic disks.
    static func setKey(_ image: Image.Libvhd, hash: String, nonce: String?, _ console: Console) -> Int32 {
        guard image.isDynamic else {
            console.printError("vhd_util_set_key: can't save key hashes for fixed vhds")
            return Errno.invalid
        }
        guard let bat = try? image.bat() else {
            console.printError("vhd_util_set_key: error reading bat: -22")
            return Errno.invalid
        }
        if bat.contains(where: { $0 != 0xFFFF_FFFF }) {
            console.printError("vhd_util_set_key: can't save key hashes for non-empty vhds")
            return Errno.invalid
        }
        var nonceBytes = [UInt8](repeating: 0, count: 32)
        if let nonce {
            guard let parsed = parseHex(nonce, console) else { return Errno.invalid }
            nonceBytes = parsed
        }
        guard let hashBytes = parseHex(hash, console) else { return Errno.invalid }
        do {
            try WritableAccess.setKeyHash(image.path, nonce: nonceBytes, hash: hashBytes)
            return 0
        } catch {
            console.printError("vhd_util_set_key: failed to set keyhash: -\(error.errno)")
            return error.errno
        }
    }

    /// blktap's `vhd_util_set_hex` for a 32-byte field.
    static func parseHex(_ text: String, _ console: Console) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count / 2 == 32 else {
            console.printError("vhd_util_set_hex: invalid size for hex string")
            return nil
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        for (index, digit) in digits.enumerated() {
            let value: UInt8
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = digit - UInt8(ascii: "A") + 10
            default:
                console.printError("vhd_util_set_hex: invalid hex digit")
                return nil
            }
            guard index / 2 < 32 else { break }
            if index & 1 == 1 { bytes[index / 2] |= value } else { bytes[index / 2] = value << 4 }
        }
        return bytes
    }
}
