import BlockIO
import Datapath
import Foundation
import TestSupport
import Testing
import VHD

/// A daemon killed while a client writes leaves a VHD that checks clean as it is (the VHD
/// engine writes a block's footer before the block, so the file always ends in one), and no
/// sector ever reads anything but its old or its new contents.
@Suite(.enabled(if: RunningDaemon.ready, Comment(rawValue: RunningDaemon.missing)), .timeLimit(.minutes(2)))
struct DaemonCrashTests {
    static let writes = 120
    static let writeSize = 96 << 10

    @Test func aVHDChecksAfterTheDaemonIsKilledMidWrites() async throws {
        let daemon = try await RunningDaemon.started()
        let vhd = try daemon.vhdFile("a.vhd", size: 256 << 20, fill: 0x01)
        try daemon.client.open(export: "vdi", path: vhd)
        var commands: [String] = []
        // Scattered writes, each allocating a new 2 MiB block (bitmap, BAT and footer updates).
        for index in 0..<Self.writes { commands += ["-c", "write -P \(Self.fill(index)) \(index * 2 + 1)M 96k"] }
        let writer = try Tool.require("qemu-io").start(["-f", "raw"] + commands + [daemon.uri("vdi")])
        // Watched and killed from a thread of its own, so a busy shared pool cannot delay the
        // kill until the writer is done.
        let killedMidWrites = try await onOwnThread {
            while try (daemon.client.statistics(export: "vdi")["vdi"]?.writes ?? 0) < 10 && writer.isRunning {
                usleep(1000)
            }
            let running = writer.isRunning
            _ = try #require(daemon.signalAndReap(SIGKILL))
            return running
        }
        _ = try? await writer.wait(timeout: 20)
        #expect(killedMidWrites, "the writer had finished before the kill; the test proves less")

        let report = Check.image(at: vhd)
        #expect(report.isValid, "\(report.problems)")
        let vhdUtil = Tool(name: "vhd-util", path: try Self.builtVHDUtil())
        _ = try await vhdUtil.run(["check", "-n", vhd], timeout: 30).requireSuccess()

        let chain = try Chain.open(
            leaf: try Image.open(store: try FileBlockStore(path: vhd, readOnly: true), name: vhd),
            resolver: FileParentResolver())
        var bytes = [UInt8](repeating: 0, count: Int(chain.virtualSize))
        try bytes.withUnsafeMutableBytes { try chain.read(into: $0, at: 0) }
        #expect(bytes[0..<(1 << 20)].allSatisfy { $0 == 0x01 })
        var landed = 0
        for index in 0..<Self.writes {
            let start = (index * 2 + 1) << 20
            for sector in stride(from: start, to: start + Self.writeSize, by: 512) {
                let first = bytes[sector]
                #expect(first == 0 || first == Self.fill(index), "write \(index), sector at \(sector)")
                #expect(bytes[sector..<sector + 512].allSatisfy { $0 == first }, "torn sector at \(sector)")
            }
            if bytes[start] == Self.fill(index) { landed += 1 }
        }
        #expect(landed >= 10, "the writes counted before the kill are in the file")
    }

    static func fill(_ index: Int) -> UInt8 { UInt8(index % 250 + 2) }

    /// The package's own `vhd-util`, built next to `sm-datapathd`.
    static func builtVHDUtil() throws -> String {
        let directory = URL(fileURLWithPath: try #require(RunningDaemon.binary)).deletingLastPathComponent()
        let path = directory.appendingPathComponent("vhd-util").path
        try #require(FileManager.default.isExecutableFile(atPath: path), "vhd-util is not built next to the tests")
        return path
    }
}
