import BlockIO
import Foundation
import Testing

@testable import NBD

/// Whoever connects to an NBD socket reads and writes the disk behind it, so the server's
/// Unix socket is its owner's alone (0600) whatever the process's umask made it.
@Suite struct SocketPermissionTests {
    @Test func theUnixSocketIsMode0600() throws {
        let served = try ServedExport(StoreExport(store: MemoryBlockStore(size: 1 << 20)))
        var info = stat()
        #expect(lstat(served.socketPath, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o7777 == 0o600, "mode \(String(info.st_mode & 0o7777, radix: 8))")
        // The owner still connects.
        let client = try RawClient(served.socketPath)
        #expect(try client.connect(to: served.name, structured: false).last == OptionReplyType.ack)
    }
}
