#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Glibc

/// What a process started afresh needs to open an SR through its driver: the SR type, its uuid
/// and its device-config. The datapath daemon and the after-reply upkeep are handed one as a
/// file (`write(to:)`, mode 0600), never on their command line: device-config may hold
/// secrets (an iSCSI CHAP password), and every user can read `/proc/<pid>/cmdline`.
public struct SRDescriptor: Codable, Hashable, Sendable {
    /// The driver's type name (`ext`).
    public var type: String
    public var srUUID: String
    public var deviceConfig: [String: String]

    /// The largest descriptor file read.
    public static let maximumFileSize = 64 << 10

    public init(type: String, srUUID: String, deviceConfig: [String: String]) {
        self.type = type
        self.srUUID = srUUID
        self.deviceConfig = deviceConfig
    }

    private enum CodingKeys: String, CodingKey {
        case type
        case srUUID = "sr_uuid"
        case deviceConfig = "device_config"
    }

    /// Writes the descriptor to `path`, mode 0600, atomically and durably.
    public func write(to path: String) throws(SRError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes: [UInt8]
        do { bytes = Array(try encoder.encode(self)) + [UInt8(ascii: "\n")] } catch {
            throw SRError(.smGeneral, opterr: "cannot encode the descriptor of SR \(srUUID): \(error)")
        }
        try DurableFile.replace(path, with: bytes, permissions: 0o600)
    }

    /// Reads the descriptor at `path`, refusing one that another user could have written or
    /// may read (it must be a regular file of this user's with no group or other permission),
    /// one over `maximumFileSize`, and one that does not name a type and a canonical SR uuid.
    ///
    /// - Throws: `InvalidArg` (1) naming the file and what is wrong with it.
    public static func read(from path: String) throws(SRError) -> SRDescriptor {
        func refuse(_ problem: String) -> SRError { SRError(.invalidArg, opterr: "SR descriptor \(path): \(problem)") }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw refuse(String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw refuse("not a regular file") }
        guard info.st_uid == geteuid() else { throw refuse("owned by uid \(info.st_uid), not by this user") }
        guard info.st_mode & 0o077 == 0 else {
            throw refuse("mode \(String(info.st_mode & 0o777, radix: 8)) lets other users at it; it must be 0600")
        }
        let read: BoundedRead?
        do { read = try DurableFile.read(path, limit: maximumFileSize) } catch { throw refuse(error.opterr ?? "\(error)") }
        guard case .bytes(let bytes) = read else {
            throw refuse(read == nil ? "vanished while read" : "more than \(maximumFileSize) bytes")
        }
        let descriptor: SRDescriptor
        do { descriptor = try JSONDecoder().decode(SRDescriptor.self, from: Data(bytes)) } catch {
            throw refuse("not a descriptor (expected {\"type\",\"sr_uuid\",\"device_config\"})")
        }
        guard !descriptor.type.isEmpty else { throw refuse("empty SR type") }
        guard Identifier.isUUID(descriptor.srUUID) else { throw refuse("'\(descriptor.srUUID.prefix(64))' is not an SR uuid") }
        return descriptor
    }
}
