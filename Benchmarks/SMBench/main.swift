import Foundation
import BlockIO
import Glibc
import SM
import VHD
import DatapathBackend

/// Benchmarks of the SR engine, printed as `name value unit` lines for scripts/bench-sm:
///     sm-bench snapshot DIR     snapshot latency of a 1 GiB and a 1 TiB VDI, spares ready and
///                               not (median of 9), and the spares' upkeep
///     sm-bench snapshot-attached DIR   the same, for a VDI its datapath daemon serves: the
///                               pause window (pause, snapshot, resume on the new leaf)
///     sm-bench scan DIR COUNT   sr_scan time with COUNT VDIs (volumes copied from one template)
///     sm-bench gc-populate DIR SR COUNT   fills the existing ext SR SR in DIR with COUNT deleted
///                               snapshots (25 per VDI, 4 KiB written between), for `sm sr-gc`

func now() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

func fail(_ message: String) -> Never {
    var bytes = Array("sm-bench: \(message)\n".utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    exit(1)
}

func makeSR(_ directory: String, uuid: String = Identifier.newUUID()) throws -> SREngine {
    mkdir(directory, 0o755)
    return try SREngine.create(
        sr: SRRecord(uuid: uuid, nameLabel: "bench", type: "ext"),
        container: FileVolumeContainer(directory: directory),
        metadataStore: SRMetadataStore(medium: FileMetadataMedium(directory: directory)),
        journal: IntentJournal(directory: directory))
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

let arguments = CommandLine.arguments
guard arguments.count >= 3 else { fail("usage: sm-bench snapshot DIR | scan DIR COUNT") }
do {
    switch arguments[1] {
    case "snapshot":
        // Ready: the spares a snapshot takes were made after the previous one (as the fronts do
        // once the caller has the reply); that upkeep is timed on its own. Cold: no spares.
        let engine = try makeSR(arguments[2])
        for (label, size) in [("1GiB", UInt64(1) << 30), ("1TiB", UInt64(1) << 40)] {
            let vdi = try engine.createVDI(.init(size: size))
            let chain = try engine.openChain(vdi.uuid, writable: true)
            try [UInt8](repeating: 1, count: 1 << 20).withUnsafeBytes { try chain.write($0, at: 0) }
            var ready: [Double] = []
            var upkeep: [Double] = []
            var cold: [Double] = []
            for round in 0..<18 {
                let warm = round < 9
                if warm {
                    let start = now()
                    try engine.replenishSpares(forSize: size)
                    upkeep.append(now() - start)
                }
                let start = now()
                let result = try engine.snapshot(vdi.uuid, now: "20261121T00:00:00Z")
                (warm ? { ready.append(now() - start) } : { cold.append(now() - start) })()
                if let snapshot = result.newVDI { try engine.deleteVDI(snapshot.uuid) }
                let write = try engine.openChain(vdi.uuid, writable: true)
                try [UInt8](repeating: 2, count: 4096).withUnsafeBytes { try write.write($0, at: 0) }
            }
            print("snapshot_latency_\(label) \(String(format: "%.2f", median(ready) * 1000)) ms")
            print("snapshot_spare_upkeep_\(label) \(String(format: "%.2f", median(upkeep) * 1000)) ms")
            print("snapshot_latency_no_spares_\(label) \(String(format: "%.2f", median(cold) * 1000)) ms")
        }
    case "snapshot-attached":
        // The pause window of a snapshot of a VDI served by its datapath daemon: from the pause
        // to the resume on the new leaf (spares ready, as after the previous snapshot's upkeep).
        // An ext SR at `<DIR>/<uuid>` (device-config:path=DIR), so the daemon opens it through the
        // ext driver as it does in service.
        let parent = arguments[2]
        mkdir(parent, 0o755)
        let srUUID = Identifier.newUUID()
        let engine = try makeSR(parent + "/" + srUUID, uuid: srUUID)
        let descriptor = SRDescriptor(type: "ext", srUUID: srUUID, deviceConfig: ["path": parent])
        let runtime = "/tmp/smb-\(getpid())"
        defer { _ = try? FileManager.default.removeItem(atPath: runtime) }
        let paths = HostPaths(
            lockDirectory: runtime + "/lock", refcountDirectory: runtime + "/ref", mountBase: runtime + "/mnt",
            stateDirectory: runtime + "/state", datapathDirectory: runtime + "/nbd")
        let backend = NBDBlockBackend(paths: paths)
        for (label, size) in [("1GiB", UInt64(1) << 30), ("1TiB", UInt64(1) << 40)] {
            let record = try engine.createVDI(.init(size: size))
            let chain = try engine.openChain(record.uuid, writable: true)
            try [UInt8](repeating: 1, count: 1 << 20).withUnsafeBytes { try chain.write($0, at: 0) }
            let vdi = BackendVDI(
                srUUID: engine.srUUID, storageType: "ext", record: record, container: engine.container,
                descriptor: descriptor)
            _ = try backend.attach(vdi, writable: true)
            try backend.activate(vdi, writable: true)
            var windows: [Double] = []
            var parts: [[Double]] = [[], [], []]
            for _ in 0..<9 {
                try engine.replenishSpares(forSize: size)
                let start = now()
                try backend.pause(vdi)
                let paused = now()
                let result = try engine.snapshot(record.uuid, now: "20261121T00:00:00Z")
                let switched = now()
                try backend.unpause(vdi)
                windows.append(now() - start)
                parts[0].append(paused - start)
                parts[1].append(switched - paused)
                parts[2].append(now() - switched)
                if let snapshot = result.newVDI { try engine.deleteVDI(snapshot.uuid) }
            }
            try backend.deactivate(vdi)
            try backend.detach(vdi)
            print("snapshot_pause_window_\(label) \(String(format: "%.2f", median(windows) * 1000)) ms")
            for (name, values) in zip(["pause", "switch", "resume"], parts) {
                print("snapshot_pause_window_\(label)_\(name) \(String(format: "%.2f", median(values) * 1000)) ms")
            }
        }
    case "gc-populate":
        guard arguments.count >= 5, let count = Int(arguments[4]) else { fail("usage: sm-bench gc-populate DIR SR COUNT") }
        let directory = arguments[2]
        let engine = try SREngine.load(
            srUUID: arguments[3], container: FileVolumeContainer(directory: directory),
            metadataStore: SRMetadataStore(medium: FileMetadataMedium(directory: directory)),
            journal: IntentJournal(directory: directory))
        let start = now()
        var made = 0
        while made < count {
            let vdi = try engine.createVDI(.init(size: 1 << 30))
            for _ in 0..<min(25, count - made) {
                let chain = try engine.openChain(vdi.uuid, writable: true)
                try [UInt8](repeating: UInt8(made & 0xFF), count: 4096).withUnsafeBytes {
                    try chain.write($0, at: UInt64(made % 512) << 21)
                }
                if let snapshot = try engine.snapshot(vdi.uuid, now: "20261121T00:00:00Z").newVDI {
                    try engine.deleteVDI(snapshot.uuid)
                }
                made += 1
            }
        }
        print("gc_populate_\(count) \(String(format: "%.1f", now() - start)) s")
    case "scan":
        guard arguments.count == 4, let count = Int(arguments[3]) else { fail("usage: sm-bench scan DIR COUNT") }
        let directory = arguments[2]
        let engine = try makeSR(directory)
        let template = try engine.createVDI(.init(size: 10 << 30))
        let templatePath = directory + "/" + template.uuid + ".vhd"
        let bytes = try FileBlockStore(path: templatePath, readOnly: true).read(count: Int(try FileBlockStore(path: templatePath, readOnly: true).size), at: 0)
        for _ in 1..<count {
            let store = try FileBlockStore.create(path: directory + "/" + Identifier.newUUID() + ".vhd")
            try store.write(bytes, at: 0)
        }
        let start = now()
        let report = try engine.scan()
        let elapsed = now() - start
        print("scan_vdis \(engine.vdis.count) count")
        print("scan_introduced \(report.introduced.count) count")
        print("scan_time_\(count) \(String(format: "%.2f", elapsed)) s")
        let second = now()
        _ = try engine.scan()
        print("rescan_time_\(count) \(String(format: "%.2f", now() - second)) s")
    default:
        fail("unknown command \(arguments[1])")
    }
} catch {
    fail("\(error)")
}
