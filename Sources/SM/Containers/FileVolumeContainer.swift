import BlockIO
import Glibc
import VHD

/// Volumes as regular files in one directory: the container of the ext (and nfs) drivers.
/// Parents are confined to the directory, so a hostile locator cannot reach outside it.
public struct FileVolumeContainer: VolumeContainer {
    public let directory: String
    /// Whether snapshots may hard-link: false for a file system without links (an NFS server
    /// that refuses them, SM's `sm-hardlink.conf` = 0), where they rename instead.
    public let supportsLinks: Bool

    public init(directory: String, links: Bool = true) {
        self.directory = directory
        self.supportsLinks = links
    }

    public var name: String { directory }
    public var provisioning: VolumeProvisioning { .growOnWrite }
    public var supportsTags: Bool { false }
    public var naming: VDIVolumeNaming { .files }
    /// The SR's records are files in the directory, beside the volumes.
    public var records: any RecordMedium { DirectoryRecordMedium(directory: directory) }
    public var parentResolver: any ParentResolver { ContainerParentResolver(container: self) }

    func path(_ name: String) throws(VolumeError) -> String {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != "..", !name.utf8.contains(0), name.utf8.count < 256
        else { throw .invalidName(name) }
        return directory + "/" + name
    }

    public func hostPath(of name: String) -> String? { try? path(name) }

    /// `./<name>`: blktap's relative locator for a parent in the same directory.
    public func locatorPath(for name: String) -> String { "./" + name }

    public func list() throws(VolumeError) -> [VolumeInfo] {
        guard let handle = opendir(directory) else {
            throw .io(container: directory, volume: "", .system(call: "opendir", errno: errno, path: directory))
        }
        defer { closedir(handle) }
        var result: [VolumeInfo] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name != ".", name != "..", entry.pointee.d_type == DT_REG || entry.pointee.d_type == DT_UNKNOWN else { continue }
            var info = stat()
            guard stat(directory + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            result.append(VolumeInfo(name: name, size: UInt64(info.st_size)))
        }
        return result
    }

    public func exists(_ name: String) -> Bool {
        guard let path = try? path(name) else { return false }
        return access(path, F_OK) == 0
    }

    public func create(_ name: String, size: UInt64, tags: Set<String>) throws(VolumeError) -> any BlockStore {
        guard tags.isEmpty else { throw .unsupported(container: directory, operation: "volume tags") }
        let path = try path(name)
        do { return try FileBlockStore.create(path: path, size: size, mode: .exclusive) } catch {
            if case .system(_, EEXIST, _) = error { throw .exists(container: directory, volume: name) }
            if case .system(_, ENOSPC, _) = error { throw .noSpace(container: directory, needed: size) }
            throw .io(container: directory, volume: name, error)
        }
    }

    public func open(_ name: String, writable: Bool) throws(VolumeError) -> any BlockStore {
        let path = try path(name)
        do { return try FileBlockStore(path: path, readOnly: !writable) } catch {
            if case .system(_, ENOENT, _) = error { throw .notFound(container: directory, volume: name) }
            throw .io(container: directory, volume: name, error)
        }
    }

    public func resize(_ name: String, to size: UInt64) throws(VolumeError) {
        let store = try open(name, writable: true)
        do { try store.resize(to: size) } catch { throw .io(container: directory, volume: name, error) }
    }

    public func rename(_ from: String, to: String) throws(VolumeError) {
        let source = try path(from)
        let target = try path(to)
        guard Glibc.rename(source, target) == 0 else { throw failure("rename", from) }
    }

    public func link(_ existing: String, as new: String) throws(VolumeError) {
        guard supportsLinks else { throw .unsupported(container: directory, operation: "hard links") }
        let source = try path(existing)
        let target = try path(new)
        guard Glibc.link(source, target) == 0 else {
            if errno == EEXIST { throw .exists(container: directory, volume: new) }
            throw failure("link", existing)
        }
    }

    public func isSameVolume(_ first: String, _ second: String) -> Bool {
        guard let a = try? path(first), let b = try? path(second) else { return false }
        var one = stat()
        var two = stat()
        guard stat(a, &one) == 0, stat(b, &two) == 0 else { return false }
        return one.st_dev == two.st_dev && one.st_ino == two.st_ino
    }

    public func setTags(_ tags: Set<String>, of name: String) throws(VolumeError) {
        throw .unsupported(container: directory, operation: "volume tags")
    }

    public var backingDevice: UInt64? {
        var info = stat()
        return stat(directory, &info) == 0 ? UInt64(info.st_dev) : nil
    }

    public func holds(device: UInt64, inode: UInt64) -> Bool {
        func matches(_ path: String) -> Bool {
            var info = stat()
            return lstat(path, &info) == 0 && UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
        }
        if matches(directory) { return true }
        let names = (try? SystemCall.directoryEntries(directory)) ?? nil
        return names?.contains { matches(directory + "/" + $0) } ?? false
    }

    public func remove(_ name: String) throws(VolumeError) {
        let path = try path(name)
        guard unlink(path) == 0 || errno == ENOENT else { throw failure("unlink", name) }
    }

    public func sync() throws(VolumeError) {
        let descriptor = Glibc.open(directory, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { throw failure("open", "") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("fsync", "") }
    }

    public func space() throws(VolumeError) -> (total: UInt64, free: UInt64) {
        var info = statvfs()
        guard statvfs(directory, &info) == 0 else { throw failure("statvfs", "") }
        let unit = UInt64(info.f_frsize)
        return (UInt64(info.f_blocks) * unit, UInt64(info.f_bavail) * unit)
    }

    private func failure(_ call: String, _ volume: String) -> VolumeError {
        let code = errno
        if code == ENOENT { return .notFound(container: directory, volume: volume) }
        if code == ENOSPC { return .noSpace(container: directory, needed: 0) }
        return .io(container: directory, volume: volume, .system(call: call, errno: code, path: directory + "/" + volume))
    }
}
