import Foundation
import TestSupport

@testable import NBD

/// Any one export served by an `NBDServer` on a Unix socket in a temporary directory.
final class ServedExport {
    let directory: TemporaryDirectory
    let server: NBDServer
    let socketPath: String
    let name = "disk"

    init(_ export: any NBDExport) throws {
        directory = try TemporaryDirectory(prefix: "nbd-export")
        socketPath = directory.path(for: "nbd.sock")
        server = NBDServer(socketPath: socketPath, exports: [name: export])
        try server.start()
    }

    deinit { server.stop() }
}
