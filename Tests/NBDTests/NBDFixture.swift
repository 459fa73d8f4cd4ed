import BlockIO
import Foundation
import NBD
import TestSupport
import VHD

/// A two-layer VHD chain (base with data at 0 and 12 MiB, a child with data at 5 MiB and a
/// partial sector at 9 MiB + 512) served by an `NBDServer` on a Unix socket in a temporary
/// directory, as a read-write export and a read-only one.
final class ServedChain {
    static let virtualSize: UInt64 = 16 << 20

    let directory: TemporaryDirectory
    let chain: Chain
    let server: NBDServer
    let socketPath: String
    let name = "6a1f3c2e-8d5b-4c1a-9e7f-0b2d4c6e8f10"
    let readOnlyName = "snapshot"

    init() throws {
        directory = try TemporaryDirectory(prefix: "nbd")
        let basePath = directory.path(for: "base.vhd")
        let base = try Create.image(
            on: try FileBlockStore.create(path: basePath), name: basePath, options: .init(virtualSize: Self.virtualSize)
        )
        try Self.write(base, Self.pattern(count: 64 << 10, seed: 1), at: 0)
        try Self.write(base, Self.pattern(count: 8 << 10, seed: 2), at: 12 << 20)
        try base.flush()
        let leaf = try Snapshot.file(at: directory.path(for: "leaf.vhd"), parent: basePath)
        try Self.write(leaf, Self.pattern(count: 4096, seed: 3), at: 5 << 20)
        try Self.write(leaf, Self.pattern(count: 512, seed: 4), at: (9 << 20) + 512)
        chain = try Chain.open(leaf: leaf, resolver: FileParentResolver())
        socketPath = directory.path(for: "nbd.sock")
        server = NBDServer(
            socketPath: socketPath,
            exports: [name: ChainExport(chain: chain), readOnlyName: ChainExport(chain: chain, readOnly: true)])
        try server.start()
    }

    deinit {
        server.stop()
    }

    /// The `nbd+unix` URI of `export` (the read-write export by default).
    func uri(_ export: String? = nil) -> String {
        "nbd+unix:///\(export ?? name)?socket=\(socketPath)"
    }

    /// The whole virtual disk as the chain reads it.
    func contents() throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(chain.virtualSize))
        try bytes.withUnsafeMutableBytes { try chain.read(into: $0, at: 0) }
        return bytes
    }

    static func pattern(count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ ($0 >> 9)) | 1 }
    }

    static func write(_ image: Image, _ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { try image.write($0, at: offset) }
    }

    static func fileBytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Whether the NBD clients the interop tests run are installed.
    static let haveClients = ["nbdinfo", "nbdcopy", "qemu-img", "qemu-io"].allSatisfy(Tool.isAvailable)
    /// Why the interop tests are skipped without them (under CI=true scripts/test fails instead).
    static let missingClients =
        "skipped: nbdinfo/nbdcopy (libnbd-bin) or qemu-img/qemu-io (qemu-utils) missing; scripts/test installs them"
}
