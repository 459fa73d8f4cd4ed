import BlockIO
import Dispatch
import Glibc
import TestSupport
import Testing

/// Opening a path that is not a regular file or block device is refused at once, naming what
/// it is: a FIFO would otherwise block the open (read-only) or every read (read-write) forever.
@Suite struct FileKindTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory(prefix: "FileKindTests") }

    /// Runs `body`, failing the test when it blocks on `fifo` for 10 seconds (`FIFOWatchdog`).
    func promptly(unblocking fifo: String, _ body: @escaping @Sendable () -> Void) {
        if FIFOWatchdog.blocked(unblocking: fifo, body) { Issue.record("opening \(fifo) blocked") }
    }

    @Test(arguments: [true, false])
    func aFIFOIsRefusedWithoutBlocking(readOnly: Bool) throws {
        let fifo = directory.path(for: "pipe.vhd")
        #expect(mkfifo(fifo, 0o644) == 0)
        promptly(unblocking: fifo) {
            #expect(throws: BlockIOError.notAStore(path: fifo, kind: .fifo)) {
                _ = try FileBlockStore(path: fifo, readOnly: readOnly)
            }
        }
        promptly(unblocking: fifo) {
            #expect(throws: BlockIOError.notAStore(path: fifo, kind: .fifo)) {
                _ = try FileBlockStore.create(path: fifo, mode: .truncate)
            }
        }
        let error = BlockIOError.notAStore(path: fifo, kind: .fifo)
        #expect(error.description == "\(fifo) is a FIFO, not a regular file or block device")
        #expect(error.errno == EINVAL)
    }

    @Test func characterDevicesDirectoriesSocketsAndLinkLoopsAreRefused() throws {
        #expect(throws: BlockIOError.notAStore(path: "/dev/null", kind: .characterDevice)) {
            _ = try FileBlockStore(path: "/dev/null", readOnly: true)
        }
        for readOnly in [true, false] {
            #expect(throws: BlockIOError.notAStore(path: directory.path, kind: .directory)) {
                _ = try FileBlockStore(path: directory.path, readOnly: readOnly)
            }
        }
        #expect(BlockIOError.notAStore(path: directory.path, kind: .directory).errno == EISDIR)

        let socketPath = directory.path(for: "socket")
        let listener = try bindUnixSocket(at: socketPath)
        defer { close(listener) }
        #expect(throws: BlockIOError.notAStore(path: socketPath, kind: .socket)) {
            _ = try FileBlockStore(path: socketPath, readOnly: true)
        }

        let loop = directory.path(for: "loop")
        #expect(symlink(loop, loop) == 0)
        #expect(throws: BlockIOError.system(call: "open", errno: ELOOP, path: loop)) {
            _ = try FileBlockStore(path: loop, readOnly: true)
        }
    }

    @Test func aRegularFileStillReadsAndWrites() throws {
        let path = directory.path(for: "disk.img")
        let store = try FileBlockStore.create(path: path, size: 4096)
        try store.write([UInt8](repeating: 7, count: 512), at: 512)
        let reopened = try FileBlockStore(path: path, readOnly: true)
        #expect(try reopened.read(count: 512, at: 512) == [UInt8](repeating: 7, count: 512))
    }

    func bindUnixSocket(at path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        return descriptor
    }
}
