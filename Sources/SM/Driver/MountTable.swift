import Glibc

/// The host's mounts as the kernel lists them in `/proc/self/mountinfo` (proc(5)), so drivers
/// can tell whether an SR is mounted without parsing `mount`'s output.
public enum MountTable {
    /// One mount.
    public struct Entry: Hashable, Sendable {
        /// Where it is mounted (field 5), escapes decoded.
        public var mountPoint: String
        /// What is mounted (the first field after `-`): a device, `server:/path`, ….
        public var source: String
        /// The file system type (`ext4`, `nfs4`).
        public var fileSystemType: String
    }

    /// Every mount of this process's namespace; empty when the table cannot be read.
    public static func entries(table: String = "/proc/self/mountinfo") -> [Entry] {
        guard let text = readText(table) else { return [] }
        return text.split(separator: "\n").compactMap { parse(Substring($0)) }
    }

    /// The mount whose mount point is `path` (compared after resolving symbolic links), the
    /// last one when several are stacked there.
    public static func entry(at path: String) -> Entry? {
        let wanted = canonicalPath(path) ?? path
        return entries().last { $0.mountPoint == wanted }
    }

    /// Whether something is mounted at `path`.
    public static func isMountPoint(_ path: String) -> Bool { entry(at: path) != nil }

    /// One line: `id parent major:minor root mountpoint options [optional…] - type source superoptions`.
    static func parse(_ line: Substring) -> Entry? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 7, let separator = fields.firstIndex(of: "-"), separator >= 6,
            fields.count >= separator + 3
        else { return nil }
        return Entry(
            mountPoint: unescape(fields[4]), source: unescape(fields[separator + 2]),
            fileSystemType: unescape(fields[separator + 1]))
    }

    /// Decodes the kernel's octal escapes (`\040` for a space, `\011`, `\012`, `\134`).
    static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count,
                let value = UInt8(String(decoding: utf8[(index + 1)...(index + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `realpath(3)` of `path`, nil when it does not exist.
    public static func canonicalPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public static func readText(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes += buffer.prefix(count)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
