import BlockIO
import Glibc
import SM

/// A file the CLI writes (an export), opened so that it can never land inside an SR: not in an
/// SR's directory, and not over any volume or record of one, judged by device and inode (a
/// symbolic link, a hard link or `..` in the name changes nothing). Only once the opened file
/// is known to be none of those is it emptied.
enum OutputFile {
    /// Opens (creating, 0600) the file at `path` for writing a new image into, empty.
    ///
    /// - Parameter guarded: the SRs' containers the file must stay out of, with their uuids.
    static func create(_ path: String, outside guarded: [(sr: String, container: any VolumeContainer)]) throws
        -> FileBlockStore
    {
        let target = resolved(path)
        let directory = DurableFile.parent(of: target)
        var status = stat()
        guard stat(directory, &status) == 0 else {
            throw CLIError("cannot write \(path): its directory \(directory) is not there (\(errorText(errno)))")
        }
        try refuse(path, device: UInt64(status.st_dev), inode: UInt64(status.st_ino), guarded, "inside")
        let store = try FileBlockStore.create(path: target, mode: .keep, permissions: 0o600)
        guard let identity = store.fileIdentity() else { throw CLIError("cannot tell which file \(path) is") }
        do {
            try refuse(path, device: identity.device, inode: identity.inode, guarded, "a volume or record of")
            try refuseBacking(path, store: store, guarded)
            if !store.isBlockDevice { try store.resize(to: 0) }
        } catch {
            store.close()
            throw error
        }
        return store
    }

    private static func refuse(
        _ path: String, device: UInt64, inode: UInt64, _ guarded: [(sr: String, container: any VolumeContainer)],
        _ relation: String
    ) throws {
        for (sr, container) in guarded where container.holds(device: device, inode: inode) {
            throw CLIError(
                "refusing to write \(path): it is \(relation) SR \(sr) (\(container.name)); "
                    + "an export there would overwrite what the SR holds")
        }
    }

    /// Refuses an output that is the storage under an SR: its file system's block device (or a
    /// whole disk holding it as a partition), or the file a loop device maps it from.
    private static func refuseBacking(
        _ path: String, store: FileBlockStore, _ guarded: [(sr: String, container: any VolumeContainer)]
    ) throws {
        var status = stat()
        guard stat(store.path, &status) == 0 else { return }
        for (sr, container) in guarded {
            guard let backing = container.backingDevice else { continue }
            let backs: Bool
            if (status.st_mode & S_IFMT) == S_IFBLK {
                let device = UInt64(status.st_rdev)
                backs = device == backing || BlockDeviceTree.partitions(of: device).contains(backing)
            } else {
                backs = BlockDeviceTree.loopBackingFile(of: backing).map { file in
                    var info = stat()
                    return stat(file, &info) == 0 && info.st_dev == status.st_dev && info.st_ino == status.st_ino
                } ?? false
            }
            if backs {
                throw CLIError(
                    "refusing to write \(path): it is the storage SR \(sr) lives on (\(container.name)); "
                        + "an export there would destroy the whole SR")
            }
        }
    }

    /// `path` with every symbolic link and `..` resolved: the file itself when it exists, else
    /// its resolved directory and its name.
    static func resolved(_ path: String) -> String {
        if let real = MountTable.canonicalPath(path) { return real }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let directory = MountTable.canonicalPath(DurableFile.parent(of: path)) else { return path }
        return directory + "/" + name
    }

    private static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}
