import BlockIO
import Foundation
import TestSupport
import VHD

@testable import NBD

/// A dynamic VHD without a parent (8 MiB, 2 MiB blocks, data in all four blocks) served
/// read-write: what TRIM and hole-punching WRITE_ZEROES release.
final class ServedDisk {
    static let virtualSize: UInt64 = 8 << 20

    let directory: TemporaryDirectory
    let path: String
    let chain: Chain
    let server: NBDServer
    let socketPath: String
    let name = "disk"

    init() throws {
        directory = try TemporaryDirectory(prefix: "nbd-trim")
        path = directory.path(for: "disk.vhd")
        let image = try Create.image(
            on: try FileBlockStore.create(path: path), name: path, options: .init(virtualSize: Self.virtualSize))
        try ServedChain.write(image, ServedChain.pattern(count: Int(Self.virtualSize), seed: 7), at: 0)
        try image.flush()
        chain = Chain(layers: [image])
        socketPath = directory.path(for: "nbd.sock")
        server = NBDServer(socketPath: socketPath, exports: [name: ChainExport(chain: chain)])
        try server.start()
    }

    deinit { server.stop() }

    var uri: String { "nbd+unix:///\(name)?socket=\(socketPath)" }

    /// Bytes the file occupies on disk (`st_blocks`).
    func allocatedBytes() throws -> UInt64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw POSIXError(.ENOENT) }
        return UInt64(info.st_blocks) * 512
    }

    /// The (length, flags) pairs of a BLOCK_STATUS reply for the whole disk.
    static func blockStatus(_ client: RawClient) throws -> [(UInt32, UInt32)] {
        _ = try client.request(Command.blockStatus.rawValue, offset: 0, length: UInt32(virtualSize))
        var reader = WireReader(try client.chunk().payload)
        _ = reader.u32()
        var extents: [(UInt32, UInt32)] = []
        while let length = reader.u32(), let flags = reader.u32() { extents.append((length, flags)) }
        return extents
    }
}
