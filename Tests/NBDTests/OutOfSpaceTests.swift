import BlockIO
import Glibc
import TestSupport
import Testing
import VHD

@testable import NBD

/// A write the storage below cannot take because it is full reaches the client as
/// `NBD_ENOSPC` (NBD.md §3.7: `EDQUOT` and `EFBIG` go there too), so a guest sees a full disk;
/// every other store failure stays `NBD_EIO`.
@Suite struct OutOfSpaceTests {
    static let size: UInt64 = 4 << 20

    /// (the errno the store fails writes with, nil for an injected fault; the NBD error expected)
    static let cases: [(Int32?, UInt32)] = [
        (ENOSPC, NBDErrno.enospc), (EDQUOT, NBDErrno.enospc), (EFBIG, NBDErrno.enospc), (EIO, NBDErrno.eio),
        (nil, NBDErrno.eio),
    ]

    @Test(arguments: cases)
    func aVHDLeafOnAFullStoreRepliesENOSPC(storeErrno: Int32?, expected: UInt32) async throws {
        try await onOwnThread {
            let store = FaultInjectingBlockStore(base: MemoryBlockStore(), name: "leaf")
            let image = try Create.image(on: store, options: .init(virtualSize: Self.size))
            try Self.writeThroughServer(ChainExport(chain: Chain(layers: [image])), store: store, storeErrno, expected)
        }
    }

    @Test(arguments: cases)
    func aRawVolumeOnAFullStoreRepliesENOSPC(storeErrno: Int32?, expected: UInt32) async throws {
        try await onOwnThread {
            let store = FaultInjectingBlockStore(base: MemoryBlockStore(size: Self.size), name: "raw")
            try Self.writeThroughServer(StoreExport(store: store), store: store, storeErrno, expected)
        }
    }

    /// Fills the store (every write from now on fails with `storeErrno`), sends a WRITE and
    /// checks its reply; the connection stays usable: a READ afterwards succeeds.
    static func writeThroughServer(
        _ export: any NBDExport, store: FaultInjectingBlockStore, _ storeErrno: Int32?, _ expected: UInt32
    ) throws {
        let served = try ServedExport(export)
        store.arm(.init(index: 0, afterwards: .crash, errno: storeErrno))
        let client = try RawClient(served.socketPath)
        _ = try client.connect(to: served.name, structured: false)
        let cookie = try client.request(
            Command.write.rawValue, offset: 1 << 20, length: 4096, payload: [UInt8](repeating: 0x5a, count: 4096))
        #expect(try client.simpleReply() == (expected, cookie))
        let read = try client.request(Command.read.rawValue, offset: 0, length: 512)
        #expect(try client.simpleReply() == (0, read))
        _ = try client.socket.read(exactly: 512)
    }
}
