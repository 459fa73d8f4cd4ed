import BlockIO
import Glibc
import NBD
import VHD

/// The benchmark's stand-in for `sm-datapathd` until the daemon lands: serves VHD chains over
/// NBD on a Unix socket with `NBDServer` and `ChainExport` until killed, taking the daemon's
/// flags so `scripts/bench-nbd` runs either the same way.
///
///     nbd-bench --socket PATH --export NAME=VHD [--export NAME=VHD ...] [--no-barriers] [--requests N]
///
/// `--requests N` serves N requests of a connection at once (default 1: in order, on its thread).
/// `--no-barriers` drops the flush between a new block's data and its BAT entry (crash-safe
/// against a killed process, not against power loss), as qemu-nbd's vpc driver never flushes.

func fail(_ message: String) -> Never {
    // Not C's `stderr` global, which is not concurrency-safe.
    let bytes = Array("nbd-bench: \(message)\n".utf8)
    _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    exit(1)
}

var socketPath: String?
var exports: [(String, String)] = []
var barriers = true
var requests = 1
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--socket": socketPath = arguments.popFirst()
    case "--export":
        guard let spec = arguments.popFirst(), let equals = spec.firstIndex(of: "=") else { fail("--export NAME=VHD") }
        exports.append((String(spec[..<equals]), String(spec[spec.index(after: equals)...])))
    case "--no-barriers": barriers = false
    case "--requests":
        guard let value = arguments.popFirst().flatMap({ Int($0) }) else { fail("--requests N") }
        requests = value
    default: fail("unknown argument \(argument); usage: nbd-bench --socket PATH --export NAME=VHD [--no-barriers]")
    }
}
guard let socketPath, !exports.isEmpty else { fail("usage: nbd-bench --socket PATH --export NAME=VHD [--no-barriers]") }

do {
    var served: [String: any NBDExport] = [:]
    for (name, path) in exports {
        let leaf = try Image.open(
            store: try FileBlockStore(path: path), name: path, options: .init(writable: true, barriers: barriers))
        served[name] = ChainExport(chain: try Chain.open(leaf: leaf, resolver: FileParentResolver()))
    }
    let server = NBDServer(endpoint: .unix(path: socketPath), exports: served, requestsPerConnection: requests)
    try server.start()
    while true { pause() }
} catch {
    fail("\(error)")
}
