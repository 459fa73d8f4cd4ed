import Glibc
import SM

/// An ext SR on a whole block device or image file (`device-config:device`): `sr_create`
/// formats it ext4, and while attached it is mounted at `<mount base>/<sr_uuid>` (with
/// `-o loop` for an image file). The file system's UUID is the SR's uuid, which is how probe
/// finds the SR and how attach refuses a device that holds another SR.
struct ExtDeviceSR: Sendable {
    let device: String
    let mountBase: String

    func mountPoint(of srUUID: String) -> String { mountBase + "/" + srUUID }

    /// Formats the device and mounts it. `SRExists` (42) when the SR is already mounted,
    /// `SRInUse` (16) when the device is mounted anywhere, `LVMFilesystem` (57) when mkfs fails.
    func create(srUUID: String) throws(SRError) -> SRStorage {
        try checkDevice()
        if MountTable.isMountPoint(mountPoint(of: srUUID)) {
            throw SRError(.srExists, opterr: "SR \(srUUID) is mounted at \(mountPoint(of: srUUID))")
        }
        if let mount = mountUsing(device) {
            throw SRError(.srInUse, opterr: "\(device) is mounted at \(mount.mountPoint)")
        }
        let mkfs = ExternalCommand("mkfs.ext4", ["-F", "-q", "-L", ExtSuperblock.srLabel, "-U", srUUID, device]).run()
        guard mkfs.succeeded else {
            throw SRError(.lvmFilesystem, opterr: "mkfs failed error \(mkfs.status): \(Self.clip(mkfs.output))")
        }
        return try attach(srUUID: srUUID)
    }

    /// Checks and mounts the file system (EXTSR's attach: `fsck -a`, where 1 means corrected,
    /// then mount). `SRUnavailable` (47) when the device holds no file system of this SR,
    /// `LVMMount` (52) when fsck or mount fails.
    func attach(srUUID: String) throws(SRError) -> SRStorage {
        let target = mountPoint(of: srUUID)
        if MountTable.isMountPoint(target) { return .directory(target) }
        try checkDevice()
        let found = try ExtSuperblock.read(device: device).superblock
        guard let found, found.uuid == srUUID else {
            let holds = found.map { "the file system \($0.uuid)" } ?? "no ext file system"
            throw SRError(.srUnavailable, opterr: "\(device) holds \(holds), not SR \(srUUID)")
        }
        let fsck = ExternalCommand("fsck.ext4", ["-p", device]).run()
        guard fsck.status == 0 || fsck.status == 1 else {
            throw SRError(.lvmMount, opterr: "FSCK failed on \(device). Errno is \(fsck.status)")
        }
        try SystemCall.makeDirectories(target, code: .lvmMount)
        var arguments = ["-t", "ext4"]
        if ExtFiles.fileType(device) == S_IFREG { arguments += ["-o", "loop"] }
        let mount = ExternalCommand("mount", arguments + [device, target]).run()
        guard mount.succeeded else {
            _ = rmdir(target)
            throw SRError(
                .lvmMount, opterr: "mount \(device) at \(target) failed (\(mount.status)): \(Self.clip(mount.output))")
        }
        try ExtFiles.restrictToOwner(target, code: .lvmMount)
        return .directory(target)
    }

    func storage(srUUID: String) throws(SRError) -> SRStorage {
        let target = mountPoint(of: srUUID)
        guard MountTable.isMountPoint(target) else {
            throw SRError(.srUnavailable, opterr: "SR \(srUUID) is not attached: nothing is mounted at \(target)")
        }
        return .directory(target)
    }

    /// Unmounts and removes the mount point. `LVMUnMount` (53) when umount fails (busy).
    func detach(srUUID: String) throws(SRError) {
        let target = mountPoint(of: srUUID)
        if MountTable.isMountPoint(target) {
            let umount = ExternalCommand("umount", [target]).run()
            guard umount.succeeded else {
                throw SRError(
                    .lvmUnMount, opterr: "umount \(target) failed (\(umount.status)): \(Self.clip(umount.output))")
            }
        }
        _ = rmdir(target)
    }

    /// Removes the SR's files, unmounts, and wipes the file system signature (the reference
    /// removes its LV, VG and PV). `WipefsFailure` (462) when wipefs fails.
    func delete(srUUID: String) throws(SRError) {
        try ExtFiles.removeFiles(in: try storage(srUUID: srUUID).container.name)
        try detach(srUUID: srUUID)
        let wipe = ExternalCommand("wipefs", ["-a", "-q", device]).run()
        guard wipe.succeeded else {
            throw SRError(.wipefsFailure, opterr: "wipefs \(device) failed (\(wipe.status)): \(Self.clip(wipe.output))")
        }
    }

    /// The SR on the device, if its file system is one `sr_create` made.
    func probe(includeMetadata: Bool) throws(SRError) -> [ProbeXML.SREntry] {
        try checkDevice()
        let (superblock, size) = try ExtSuperblock.read(device: device)
        guard let superblock, superblock.label == ExtSuperblock.srLabel, Identifier.isUUID(superblock.uuid) else {
            return []
        }
        var record: SRRecord?
        if includeMetadata, let storage = try? storage(srUUID: superblock.uuid) {
            record = try? storage.metadataStore.load().sr
        }
        return [
            ExtProbeEntry.entry(
                uuid: superblock.uuid, devices: device, size: String(size), sr: record, includeMetadata: includeMetadata
            )
        ]
    }

    /// `ConfigDeviceInvalid` (91) unless the device is a block device or a regular file.
    func checkDevice() throws(SRError) {
        guard let type = ExtFiles.fileType(device), type == S_IFBLK || type == S_IFREG else {
            throw SRError(.configDeviceInvalid, opterr: "\(device) is not a block device or an image file")
        }
    }

    /// The mount of `device` itself, or of a loop device backed by it.
    func mountUsing(_ device: String) -> MountTable.Entry? {
        let wanted = MountTable.canonicalPath(device) ?? device
        return MountTable.entries().first { entry in
            if MountTable.canonicalPath(entry.source) == wanted { return true }
            guard entry.source.hasPrefix("/dev/loop") else { return false }
            let loop = String(entry.source.dropFirst("/dev/".count))
            guard let backing = MountTable.readText("/sys/block/\(loop)/loop/backing_file") else { return false }
            return backing.split(separator: "\n").first.map(String.init) == wanted
        }
    }

    /// Tool output can be long; faults quote at most its first 512 characters, on one line.
    static func clip(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count <= 512 ? line : String(line.prefix(512)) + "…"
    }
}
