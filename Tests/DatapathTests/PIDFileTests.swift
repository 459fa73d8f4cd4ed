import Datapath
import Foundation
import Synchronization
import TestSupport
import Testing

@Suite struct PIDFileTests {
    @Test func writesReadsAndRemovesThePid() async throws {
        try await onOwnThread {
            let directory = try TemporaryDirectory(prefix: "pidfile")
            let file = PIDFile(path: directory.path(for: "d.pid"))
            #expect(file.read() == nil)
            try file.write(4242)
            #expect(try String(contentsOfFile: file.path, encoding: .utf8) == "4242\n")
            #expect(file.read() == 4242)
            file.remove()
            #expect(!FileManager.default.fileExists(atPath: file.path))
            try "not a pid\n".write(toFile: file.path, atomically: true, encoding: .utf8)
            #expect(file.read() == nil)
        }
    }

    /// Issue 8, findings 2 and 6: a FIFO, a directory or a huge sparse file where a pid file
    /// should be reads as no pid, at once and without allocating it.
    @Test func aFIFOOrAHugeFileInThePidFilesPlaceReadsAsNoPid() async throws {
        try await onOwnThread {
            let directory = try TemporaryDirectory(prefix: "pidfile")
            let fifo = PIDFile(path: directory.path(for: "fifo.pid"))
            #expect(mkfifo(fifo.path, 0o600) == 0)
            let readNothing = Mutex(false)
            let blocked = FIFOWatchdog.blocked(unblocking: fifo.path) { readNothing.withLock { $0 = fifo.read() == nil } }
            #expect(!blocked, "reading a FIFO pid file blocked")
            #expect(readNothing.withLock { $0 })
            let huge = PIDFile(path: directory.path(for: "huge.pid"))
            #expect(FileManager.default.createFile(atPath: huge.path, contents: Data("4242\n".utf8)))
            #expect(truncate(huge.path, 1 << 40) == 0)
            #expect(huge.read() == nil)
            #expect(PIDFile(path: directory.path).read() == nil)
        }
    }

    @Test func theFileIsMode0600EvenOverALooserLeftoverTemporary() async throws {
        try await onOwnThread {
            let directory = try TemporaryDirectory(prefix: "pidfile")
            let file = PIDFile(path: directory.path(for: "d.pid"))
            let leftover = file.path + ".tmp"
            #expect(FileManager.default.createFile(atPath: leftover, contents: nil, attributes: [.posixPermissions: 0o666]))
            try file.write(4242)
            let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        }
    }

    @Test func aLiveProcessIsAliveAndAnExitedOrZombieOneIsNot() async throws {
        try await onOwnThread {
            let directory = try TemporaryDirectory(prefix: "pidfile")
            let file = PIDFile(path: directory.path(for: "d.pid"))
            try file.write()
            #expect(file.livePID() == getpid())

            let child = try spawnTrue()
            // Exited but not reaped: a zombie, which kill(pid, 0) still finds.
            var waited = 0
            while !Self.isZombie(child) && waited < 500 {
                usleep(10_000)
                waited += 1
            }
            #expect(Self.isZombie(child))
            #expect(kill(child, 0) == 0, "the zombie still exists")
            #expect(!PIDFile.isAlive(child))
            var status: Int32 = 0
            waitpid(child, &status, 0)
            try file.write(child)
            #expect(file.livePID() == nil)
        }
    }

    /// `/bin/true` started with `posix_spawn` and not reaped.
    func spawnTrue() throws -> pid_t {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { free(argv[0]) }
        #expect(posix_spawn(&pid, "/bin/true", nil, nil, argv, environ) == 0)
        return pid
    }

    static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
            let close = stat.lastIndex(of: UInt8(ascii: ")")), close + 2 < stat.endIndex
        else { return false }
        return stat[close + 2] == UInt8(ascii: "Z")
    }
}
