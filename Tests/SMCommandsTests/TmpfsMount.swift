import Foundation
import Glibc
import TestSupport

/// A tmpfs of `sizeMiB` mebibytes mounted on a new temporary directory: a small file system
/// whose free space a test sets to the page. Unmounted by `unmount()` or when released, even
/// after a failure (`umount`, retried while busy, then `umount -l`). Needs root.
final class TmpfsMount {
    /// Whether this machine can: root, and the mount tools.
    static let available = geteuid() == 0 && Tool.isAvailable("mount") && Tool.isAvailable("umount")

    /// The mount point.
    let path: String
    private let directory: TemporaryDirectory
    private(set) var mounted = false

    init(sizeMiB: Int) throws {
        directory = try TemporaryDirectory(prefix: "sm-tmpfs")
        path = directory.path(for: "fs")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Tool.require("mount").run(
            ["-t", "tmpfs", "-o", "size=\(sizeMiB)m,mode=0700", "sm-test-tmpfs", path], timeout: 30
        )
        .requireSuccess()
        mounted = true
    }

    deinit {
        unmount()
    }

    /// Unmounts; harmless when already done. A mount still busy after 5 s is detached lazily.
    func unmount() {
        guard mounted, let umount = Tool.find("umount") else { return }
        for _ in 0..<50 {
            if (try? umount.run([path], timeout: 30))?.succeeded == true {
                mounted = false
                return
            }
            usleep(100_000)
        }
        _ = try? umount.run(["-l", path], timeout: 30)
        mounted = false
    }

    /// Free bytes for an unprivileged writer (`f_bavail`). The corresponding C function is `statvfs`.
    func freeBytes() -> Int {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return -1 }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// Grows or shrinks the file `filler` (in the mount) until exactly `target` bytes are
    /// free; returns the free bytes reached.
    /// The corresponding C functions are `posix_fallocate` and `ftruncate`.
    @discardableResult
    func fill(_ filler: String, leavingFree target: Int) -> Int {
        let descriptor = open(filler, O_RDWR | O_CREAT, 0o600)
        guard descriptor >= 0 else { return freeBytes() }
        defer { close(descriptor) }
        for _ in 0..<16 {
            let free = freeBytes()
            guard free != target else { break }
            var info = stat()
            guard fstat(descriptor, &info) == 0 else { break }
            let size = Int(info.st_size)
            if free > target {
                _ = posix_fallocate(descriptor, off_t(size), off_t(free - target))
            } else {
                _ = ftruncate(descriptor, off_t(max(0, size - (target - free))))
            }
        }
        return freeBytes()
    }
}
