import BlockIO
import Datapath
import Foundation
import TestSupport
import Testing
import VHD

@testable import Datapath

/// The control operations against a real daemon, with real NBD clients on the data path.
@Suite(.enabled(if: RunningDaemon.ready, Comment(rawValue: RunningDaemon.missing)), .timeLimit(.minutes(2)))
struct DaemonControlTests {
    @Test func openStatusAndCloseThroughTheClient() async throws {
        let daemon = try await RunningDaemon.started()
        let raw = try daemon.rawFile("a.raw", size: 8 << 20)
        let vhd = try daemon.vhdFile("b.vhd", size: 32 << 20, fill: 0x42)
        let opened = try daemon.client.open(export: "a", path: raw)
        #expect(opened == ExportStatus(name: "a", path: raw, readOnly: false, paused: false, size: 8 << 20))
        try daemon.client.open(export: "b", path: vhd, readOnly: true)
        let status = try daemon.client.status()
        #expect(status.exports.map(\.name) == ["a", "b"])
        #expect(status.exports[1] == ExportStatus(name: "b", path: vhd, readOnly: true, paused: false, size: 32 << 20))
        let info = try await Tool.require("nbdinfo").run(["--json", daemon.uri("b")], timeout: 20).requireSuccess()
        #expect(info.output.contains("\"export-size\": \(32 << 20)") && info.output.contains("\"is_read_only\": true"))
        _ = try await Tool.require("qemu-io").run(
            ["-f", "raw", "-r", "-c", "read -P 0x42 0 1M", daemon.uri("b")], timeout: 20
        )
        .requireSuccess()

        #expect(throws: DatapathError.refused("export a is already open (from \(raw))")) {
            try daemon.client.open(export: "a", path: vhd)
        }
        #expect {
            try daemon.client.open(export: "c", path: daemon.directory.path(for: "missing.raw"))
        } throws: { error in
            guard case .refused(let message) = error as? DatapathError else { return false }
            return message.hasPrefix("cannot open \(daemon.directory.path(for: "missing.raw")): open failed")
        }

        try daemon.client.close(export: "a")
        #expect(try daemon.client.status().exports.map(\.name) == ["b"])
        let gone = try await Tool.require("nbdinfo").run([daemon.uri("a")], timeout: 20)
        #expect(!gone.succeeded, "a closed export is no longer served")
        #expect(throws: DatapathError.refused("no export named a")) { try daemon.client.pause(export: "a") }
    }

    @Test func closeDisconnectsAClientAtItsNextRequest() async throws {
        let daemon = try await RunningDaemon.started()
        let raw = try daemon.rawFile("a.raw", size: 8 << 20)
        try daemon.client.open(export: "a", path: raw)
        try daemon.client.pause(export: "a")
        // The writer connects and sends its first write, which the pause holds; close then
        // drops the connection and qemu-io fails instead of hanging.
        let writer = try Tool.require("qemu-io").start(["-f", "raw", "-c", "write -P 0x33 0 64k", daemon.uri("a")])
        try await Task.sleep(for: .microseconds(500_000))
        #expect(writer.isRunning)
        try daemon.client.close(export: "a")
        let result = try await writer.wait(timeout: 20)
        #expect(!result.succeeded, "\(result)")
    }

    @Test func statsCountWhatTheClientsDid() async throws {
        let daemon = try await RunningDaemon.started()
        let raw = try daemon.rawFile("a.raw", size: 8 << 20)
        try daemon.client.open(export: "a", path: raw)
        _ = try await Tool.require("qemu-io").run(
            [
                "-f", "raw", "-c", "write -P 0x11 0 64k", "-c", "write -P 0x22 1M 64k", "-c", "write -P 0x33 2M 128k",
                "-c", "read -P 0x22 1M 4k", "-c", "read -P 0x33 2M 8k", daemon.uri("a"),
            ], timeout: 20
        ).requireSuccess()
        let all = try daemon.client.statistics()
        let statistics = try #require(all["a"])
        #expect(statistics.writes == 3 && statistics.bytesWritten == 256 << 10, "\(statistics)")
        #expect(statistics.reads == 2 && statistics.bytesRead == 12 << 10, "\(statistics)")
        #expect(statistics.errors == 0)
        #expect(statistics.writeLatency.count == 3 && statistics.writeLatency.max > 0)
        #expect(statistics.writeLatency.p50 <= statistics.writeLatency.p99)
        #expect(try daemon.client.statistics(export: "a") == ["a": statistics])
        #expect(throws: DatapathError.refused("no export named zz")) { try daemon.client.statistics(export: "zz") }
    }

    @Test func pauseHoldsAWriterWithoutFailingItAndUnpauseReleasesIt() async throws {
        let daemon = try await RunningDaemon.started()
        let vhd = try daemon.vhdFile("a.vhd", size: 64 << 20, fill: 0x01)
        try daemon.client.open(export: "a", path: vhd)
        #expect(try daemon.client.pause(export: "a").paused)
        var commands: [String] = []
        for index in 0..<32 { commands += ["-c", "write -P \(index + 1) \(index * 2)M 256k"] }
        let writer = try Tool.require("qemu-io").start(["-f", "raw"] + commands + [daemon.uri("a")])
        try await Task.sleep(for: .microseconds(700_000))
        #expect(writer.isRunning, "the writer is held, not failed")
        #expect(try daemon.client.statistics(export: "a")["a"]?.writes == 0)
        #expect(try daemon.client.status().exports.first?.paused == true)
        #expect(try !daemon.client.unpause(export: "a").paused)
        let result = try await writer.wait(timeout: 30)
        #expect(result.succeeded, "\(result)")
        #expect(try daemon.client.statistics(export: "a")["a"]?.writes == 32)
        var reads: [String] = []
        for index in 0..<32 { reads += ["-c", "read -P \(index + 1) \(index * 2)M 256k"] }
        _ = try await Tool.require("qemu-io").run(["-f", "raw", "-r"] + reads + [daemon.uri("a")], timeout: 30)
            .requireSuccess()
    }

    @Test func pauseAndUnpauseUnderARunningWriterLoseNothing() async throws {
        let daemon = try await RunningDaemon.started()
        let vhd = try daemon.vhdFile("a.vhd", size: 128 << 20, fill: 0x01)
        try daemon.client.open(export: "a", path: vhd)
        var commands: [String] = []
        for index in 0..<256 { commands += ["-c", "write -P \(index % 250 + 2) \(index * 512)k 64k"] }
        let writer = try Tool.require("qemu-io").start(["-f", "raw"] + commands + [daemon.uri("a")])
        var cycles = 0
        while writer.isRunning && cycles < 20 {
            try daemon.client.pause(export: "a")
            try await Task.sleep(for: .microseconds(20_000))
            try daemon.client.unpause(export: "a")
            cycles += 1
        }
        await #expect(try writer.wait(timeout: 60).succeeded)
        #expect(cycles > 0, "the writer finished before the first pause")
        var reads: [String] = []
        for index in 0..<256 { reads += ["-c", "read -P \(index % 250 + 2) \(index * 512)k 64k"] }
        _ = try await Tool.require("qemu-io").run(["-f", "raw", "-r"] + reads + [daemon.uri("a")], timeout: 60)
            .requireSuccess()
        #expect(Check.image(at: vhd).isValid)
    }

    @Test func unpauseFromANewPathServesTheNewChain() async throws {
        let daemon = try await RunningDaemon.started()
        let first = try daemon.vhdFile("a.vhd", size: 16 << 20, fill: 0xaa)
        let second = try daemon.vhdFile("b.vhd", size: 24 << 20, fill: 0xbb)
        try daemon.client.open(export: "vdi", path: first)
        let qemuIO = try Tool.require("qemu-io")
        _ = try await qemuIO.run(["-f", "raw", "-r", "-c", "read -P 0xaa 0 1M", daemon.uri("vdi")], timeout: 20)
            .requireSuccess()
        try daemon.client.pause(export: "vdi")
        let unpaused = try daemon.client.unpause(export: "vdi", path: second)
        #expect(unpaused == ExportStatus(name: "vdi", path: second, readOnly: false, paused: false, size: 24 << 20))
        _ = try await qemuIO.run(["-f", "raw", "-r", "-c", "read -P 0xbb 0 1M", daemon.uri("vdi")], timeout: 20)
            .requireSuccess()
        #expect(
            throws: DatapathError.refused("export vdi is not paused; pause it before re-opening it from \(first)")
        ) { try daemon.client.unpause(export: "vdi", path: first) }
    }

    @Test func aFailedReopenLeavesTheExportPausedForARetry() async throws {
        let daemon = try await RunningDaemon.started()
        let first = try daemon.vhdFile("a.vhd", size: 16 << 20, fill: 0xaa)
        try daemon.client.open(export: "vdi", path: first)
        try daemon.client.pause(export: "vdi")
        let missing = daemon.directory.path(for: "gone.vhd")
        #expect(throws: DatapathError.self) { try daemon.client.unpause(export: "vdi", path: missing) }
        #expect(try daemon.client.status().exports.first?.paused == true)
        #expect(try daemon.client.status().exports.first?.path == first)
        #expect(try !daemon.client.unpause(export: "vdi").paused)
    }

    @Test func refreshPicksUpAnOnlineResize() async throws {
        let daemon = try await RunningDaemon.started()
        let vhd = try daemon.vhdFile("a.vhd", size: 16 << 20, fill: 0x5c, preallocatedSize: 64 << 20)
        let raw = try daemon.rawFile("b.raw", size: 4 << 20)
        try daemon.client.open(export: "vhd", path: vhd)
        try daemon.client.open(export: "raw", path: raw)
        try Resize.fast(path: vhd, newSize: 48 << 20)
        #expect(truncate(raw, 12 << 20) == 0)
        #expect(try daemon.client.status().exports.map(\.size) == [4 << 20, 16 << 20], "unchanged until refreshed")
        #expect(try daemon.client.refresh(export: "vhd").size == 48 << 20)
        #expect(try daemon.client.refresh(export: "raw").size == 12 << 20)
        let info = try await Tool.require("nbdinfo").run(["--size", daemon.uri("vhd")], timeout: 20).requireSuccess()
        #expect(info.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(48 << 20)")
        _ = try await Tool.require("qemu-io").run(
            ["-f", "raw", "-c", "write -P 0x7e 40M 64k", "-c", "read -P 0x5c 0 1M", daemon.uri("vhd")], timeout: 20
        ).requireSuccess()
        #expect(Check.image(at: vhd).isValid)
    }

    @Test func malformedRequestsGetSpecificErrorsAndTheDaemonKeepsServing() async throws {
        let daemon = try await RunningDaemon.started()
        let socket = try ControlSocket.connect(path: daemon.controlPath, timeout: 2)
        socket.setReceiveTimeout(10)
        let cases: [(String, String)] = [
            ("this is not json", "malformed request: not a JSON object: this is not json"),
            ("{\"export\":\"a\"}", "malformed request: missing \"op\" in {\"export\":\"a\"}"),
            ("{\"op\":7}", "malformed request: \"op\" has the wrong type in {\"op\":7}"),
            (
                "{\"op\":\"frobnicate\"}",
                "unknown op \"frobnicate\" (expected one of "
                    + "status, open, close, pause, unpause, refresh, stats, shutdown)"
            ),
            ("{\"op\":\"pause\"}", "pause needs \"export\""),
            ("{\"op\":\"pause\",\"export\":\"nope\"}", "no export named nope"),
            ("{\"op\":\"open\",\"export\":\"x\"}", "open needs \"path\""),
        ]
        for (request, message) in cases {
            try socket.write(Array((request + "\n").utf8))
            let line = try #require(try socket.readLine())
            #expect(try ControlProtocol.decode(ControlReply.self, from: line) == .failure(message), "\(request)")
        }
        // Over the line limit: an error reply, then the connection is closed.
        let long = ControlSocket.connect
        let flooded = try long(daemon.controlPath, 2)
        flooded.setReceiveTimeout(10)
        try? flooded.write([UInt8](repeating: UInt8(ascii: "x"), count: ControlProtocol.maximumLineLength + 8192))
        let reply = try #require(try flooded.readLine())
        #expect(
            try ControlProtocol.decode(ControlReply.self, from: reply)
                == .failure("request line longer than \(ControlProtocol.maximumLineLength) bytes"))
        #expect(try daemon.client.status().pid == daemon.pid, "the daemon keeps serving")
        try socket.write(Array("{\"op\":\"status\"}\n".utf8))
        #expect(try ControlProtocol.decode(ControlReply.self, from: try #require(try socket.readLine())).ok)
    }
}
