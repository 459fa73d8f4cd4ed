import Glibc
import SM

/// Where an ext SR lives, as its `device-config` says, parsed once (the only place the driver
/// reads the map):
///
/// - `device=<block device or image file>`: the reference's ext SR. `sr_create` formats the
///   whole device ext4 (file system UUID = the SR's uuid, label `XSLocalEXT`), and the SR is
///   the file system's root, mounted at `<mount base>/<sr_uuid>` while attached.
/// - `path=<existing directory>`: the embedded default, no root and no mount needed. The SR is
///   the directory `<path>/<sr_uuid>`, as NFS SRs are `<serverpath>/<sr_uuid>`, so one
///   directory can hold several SRs and probe can find them all.
///
/// Either way the SR's root holds the reference's files: `<vdi_uuid>.vhd` / `.raw` with
/// relative parent locators, plus this SM's `sm-metadata.json` and `.intent-*.json` records.
enum ExtLocation: Hashable, Sendable {
    case device(String)
    case directory(String)

    /// Reads `device` or `path` from `deviceConfig`.
    ///
    /// - Throws: `ConfigDeviceMissing` (90) when neither is given, `InvalidArg` when both are,
    ///   `ConfigDeviceInvalid` for a relative path or a list of devices (`a,b`: one device only).
    init(deviceConfig: [String: String]) throws(SRError) {
        let device = deviceConfig["device"].flatMap { $0.isEmpty ? nil : $0 }
        let path = deviceConfig["path"].flatMap { $0.isEmpty ? nil : $0 }
        switch (device, path) {
        case (nil, nil):
            throw SRError(.configDeviceMissing)
        case (.some, .some):
            throw SRError(.invalidArg, opterr: "give device-config:device or device-config:path, not both")
        case (let device?, nil):
            guard device.hasPrefix("/"), !device.contains(",") else {
                throw SRError(.configDeviceInvalid, opterr: "device must be one absolute path: \(device)")
            }
            self = .device(Self.normalised(device))
        case (nil, let path?):
            guard path.hasPrefix("/") else {
                throw SRError(.configDeviceInvalid, opterr: "path must be absolute: \(path)")
            }
            self = .directory(Self.normalised(path))
        }
    }

    /// `path` without repeated or trailing slashes.
    static func normalised(_ path: String) -> String {
        "/" + path.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }

    /// Checks that `srUUID` is a canonical uuid before it becomes a path component, so hostile
    /// input (`../x`) never names anything outside the SR.
    static func validate(srUUID: String) throws(SRError) {
        guard Identifier.isUUID(srUUID) else {
            throw SRError(.invalidArg, opterr: "invalid SR uuid '\(srUUID.prefix(64))'")
        }
    }
}

/// Small file-system helpers of the ext driver.
enum ExtFiles {
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The file type bits of `path` (`S_IFBLK`, `S_IFREG`, …), nil when it does not exist.
    static func fileType(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }

    /// The names in `directory`, without `.` and `..`; empty when it cannot be read.
    static func entries(_ directory: String) -> [String] {
        ((try? SystemCall.directoryEntries(directory)) ?? []).sorted()
    }

    /// Total bytes of the file system holding `path`.
    static func fileSystemSize(_ path: String) -> UInt64 {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return 0 }
        return UInt64(info.f_blocks) * UInt64(info.f_frsize)
    }

    /// Removes every regular file in an SR's root (the SR was found empty of VDIs: what is left
    /// is metadata, journal records and garbage), leaving directories such as `lost+found`.
    static func removeFiles(in directory: String) throws(SRError) {
        for name in entries(directory) {
            let path = directory + "/" + name
            guard fileType(path) != S_IFDIR else { continue }
            guard unlink(path) == 0 || errno == ENOENT else {
                throw SRError(
                    .fileSRDelete, opterr: "failed to remove \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Makes an SR's root directory 0700 whatever the umask, as EXTSR's attach does (`chmod
    /// 0700` of the mount point): the VDIs in it are for the storage manager alone.
    static func restrictToOwner(_ directory: String, code: SRErrorCode) throws(SRError) {
        guard chmod(directory, 0o700) == 0 else {
            throw SRError(code, opterr: "chmod 0700 \(directory): \(errorText())")
        }
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}
