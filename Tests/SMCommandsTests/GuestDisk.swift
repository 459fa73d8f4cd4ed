import Foundation
import TestSupport
import Testing

/// A VDI's NBD export used as a guest uses a disk: `nbdfuse` exposes it as a file, `losetup`
/// makes that a block device, and the kernel's ext4 mounts it.
final class GuestDisk: @unchecked Sendable {
    /// Whether this machine can do it: root, /dev/fuse, and the tools.
    static let available: Bool = geteuid() == 0 && FileManager.default.fileExists(atPath: "/dev/fuse")
        && ["nbdfuse", "losetup", "mkfs.ext4", "mount", "umount", "fsck.ext4", "fusermount3"].allSatisfy(Tool.isAvailable)
    static let missing = "needs root, /dev/fuse, nbdfuse (libnbd-bin), losetup, e2fsprogs and fusermount3"

    let fuseDirectory: String
    let mountPoint: String
    private let fuse: RunningTool
    let device: String
    private(set) var mounted = false

    /// Connects `socket`'s export `export`; read-only when `readOnly`.
    init(socket: String, export: String, in directory: String, readOnly: Bool = false) throws {
        fuseDirectory = directory + "/fuse"
        mountPoint = directory + "/fs"
        for path in [fuseDirectory, mountPoint] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        let file = fuseDirectory + "/disk"
        fuse = try Tool.require("nbdfuse").start(
            (readOnly ? ["-r"] : []) + [file, "nbd+unix:///\(export)?socket=\(socket)"])
        var waited = 0
        while !FileManager.default.fileExists(atPath: file), waited < 500, fuse.isRunning {
            usleep(10_000)
            waited += 1
        }
        guard FileManager.default.fileExists(atPath: file) else {
            _ = try? fuse.stop()
            throw ToolError.timedOut(command: "nbdfuse \(file)", seconds: 5)
        }
        let loop = try Tool.require("losetup").run((readOnly ? ["-r"] : []) + ["-f", "--show", file], timeout: 30)
            .requireSuccess()
        device = loop.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func mkfs() throws { _ = try Tool.require("mkfs.ext4").run(["-q", "-F", device], timeout: 120).requireSuccess() }

    func mount(readOnly: Bool = false) throws {
        _ = try Tool.require("mount").run((readOnly ? ["-o", "ro,noload"] : []) + [device, mountPoint], timeout: 60)
            .requireSuccess()
        mounted = true
    }

    func unmount() throws {
        guard mounted else { return }
        _ = try Tool.require("umount").run([mountPoint], timeout: 60).requireSuccess()
        mounted = false
    }

    /// `fsck.ext4 -n`: exit status 0 means clean.
    func fsck() throws -> ToolResult { try Tool.require("fsck.ext4").run(["-n", "-f", device], timeout: 120) }

    func path(_ name: String) -> String { mountPoint + "/" + name }

    /// Unmounts, detaches the loop device and ends `nbdfuse`, whatever state it is in.
    func disconnect() {
        if mounted { _ = try? Tool.require("umount").run(["-l", mountPoint], timeout: 60) }
        mounted = false
        _ = try? Tool.require("losetup").run(["-d", device], timeout: 30)
        _ = try? Tool.require("fusermount3").run(["-u", "-z", fuseDirectory], timeout: 30)
        _ = try? fuse.wait(timeout: 10)
        if fuse.isRunning { _ = try? fuse.stop() }
    }
}
