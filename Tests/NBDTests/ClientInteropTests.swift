import Foundation
import NBD
import TestSupport
import Testing
import VHD

/// Real NBD clients (libnbd's nbdinfo and nbdcopy, qemu-img, qemu-io) against `NBDServer`.
@Suite(.enabled(if: ServedChain.haveClients, Comment(rawValue: ServedChain.missingClients)), .timeLimit(.minutes(2)))
struct ClientInteropTests {
    @Test func nbdinfoReportsTheSizeAndTheReadOnlyFlag() async throws {
        let nbdinfo = try Tool.require("nbdinfo")
        let served = try ServedChain()
        for (export, readOnly) in [(served.name, false), (served.readOnlyName, true)] {
            let result = try await nbdinfo.run(["--json", served.uri(export)], timeout: 20).requireSuccess()
            let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput)) as? [String: Any]
            let exports = object?["exports"] as? [[String: Any]]
            let first = try #require(exports?.first, "nbdinfo --json: \(result.output)")
            #expect((first["export-size"] as? NSNumber)?.uint64Value == ServedChain.virtualSize)
            #expect((first["is_read_only"] as? Bool) == readOnly)
            #expect((first["can_flush"] as? Bool) == true)
        }
    }

    @Test func nbdinfoMapShowsTheChainsAllocatedRangesAsDataAndTheRestAsHoles() async throws {
        let nbdinfo = try Tool.require("nbdinfo")
        let served = try ServedChain()
        let result = try await nbdinfo.run(["--map", "--json", served.uri()], timeout: 20).requireSuccess()
        let entries = try #require(
            try JSONSerialization.jsonObject(with: Data(result.standardOutput)) as? [[String: Any]],
            "nbdinfo --map --json: \(result.output)")
        var data: [Range<UInt64>] = []
        var covered: UInt64 = 0
        for entry in entries {
            let offset = try #require((entry["offset"] as? NSNumber)?.uint64Value)
            let length = try #require((entry["length"] as? NSNumber)?.uint64Value)
            let type = try #require((entry["type"] as? NSNumber)?.intValue)
            #expect(offset == covered)
            covered = offset + length
            if type == 0 {
                data.append(offset..<offset + length)
            } else {
                #expect(type == 3, "unallocated ranges are hole,zero")
            }
        }
        #expect(covered == ServedChain.virtualSize)
        let allocated = try served.chain.allocatedRanges()
        #expect(data == allocated)
        #expect(data.contains { $0.contains(5 << 20) } && data.contains { $0.contains(12 << 20) })
        #expect(!data.contains { $0.contains(8 << 20) })
    }

    @Test func nbdcopyToAFileCopiesWhatTheChainReads() async throws {
        let nbdcopy = try Tool.require("nbdcopy")
        let served = try ServedChain()
        let output = served.directory.path(for: "copy.raw")
        _ = try await nbdcopy.run([served.uri(served.readOnlyName), output], timeout: 30).requireSuccess()
        #expect(try ServedChain.fileBytes(output) == served.contents())
    }

    @Test func qemuImgConvertFromTheExportEqualsTheChain() async throws {
        let qemuImg = try Tool.require("qemu-img")
        let served = try ServedChain()
        let output = served.directory.path(for: "convert.raw")
        _ = try await qemuImg.run(["convert", "-f", "raw", "-O", "raw", served.uri(), output], timeout: 30)
            .requireSuccess()
        #expect(try ServedChain.fileBytes(output) == served.contents())
    }

    @Test func qemuIOWritesLandInTheLeafAndReadBackThroughTheChain() async throws {
        let qemuIO = try Tool.require("qemu-io")
        let served = try ServedChain()
        var expected = try served.contents()
        _ = try await qemuIO.run(
            ["-f", "raw", "-c", "write -P 0xab 1M 64k", "-c", "write -z 0 4k", served.uri()], timeout: 30
        )
        .requireSuccess()
        for index in (1 << 20)..<((1 << 20) + (64 << 10)) { expected[index] = 0xab }
        for index in 0..<4096 { expected[index] = 0 }
        #expect(try served.contents() == expected)
        let leafData = try served.chain.leaf.allocatedRanges()
        #expect(leafData.contains { $0.contains(1 << 20) })
    }

    @Test func writesToTheReadOnlyExportFailAndChangeNothing() async throws {
        let qemuIO = try Tool.require("qemu-io")
        let served = try ServedChain()
        let before = try served.contents()
        let result = try await qemuIO.run(
            ["-f", "raw", "-c", "write -P 0xcd 0 4k", served.uri(served.readOnlyName)], timeout: 30)
        #expect(!result.succeeded, "\(result)")
        #expect(result.errorOutput.contains("Permission denied") || result.errorOutput.contains("read-only"))
        #expect(try served.contents() == before)
    }

    @Test func nbdcopyIntoTheExportWritesTheLeafAndQemuImgCompareAgrees() async throws {
        let nbdcopy = try Tool.require("nbdcopy")
        let qemuImg = try Tool.require("qemu-img")
        let served = try ServedChain()
        let source = served.directory.path(for: "source.raw")
        var bytes = [UInt8](repeating: 0, count: Int(ServedChain.virtualSize))
        let pattern = ServedChain.pattern(count: 3 << 20, seed: 9)
        bytes.replaceSubrange((2 << 20)..<(5 << 20), with: pattern)
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        _ = try await nbdcopy.run([source, served.uri()], timeout: 30).requireSuccess()
        #expect(try served.contents() == bytes)
        _ = try await qemuImg.run(["compare", "-f", "raw", "-F", "raw", source, served.uri()], timeout: 30).requireSuccess()
    }

    @Test func qemuImgMapSeesTheSameAllocationThroughRequestOneBlockStatus() async throws {
        let qemuImg = try Tool.require("qemu-img")
        let served = try ServedChain()
        let result = try await qemuImg.run(["map", "--output=json", "-f", "raw", served.uri()], timeout: 30).requireSuccess()
        let entries = try #require(
            try JSONSerialization.jsonObject(with: Data(result.standardOutput)) as? [[String: Any]], "\(result)")
        var data: [Range<UInt64>] = []
        for entry in entries where (entry["data"] as? Bool) == true {
            let start = try #require((entry["start"] as? NSNumber)?.uint64Value)
            let length = try #require((entry["length"] as? NSNumber)?.uint64Value)
            if let last = data.last, last.upperBound == start {
                data[data.count - 1] = last.lowerBound..<start + length
            } else {
                data.append(start..<start + length)
            }
        }
        #expect(data == (try served.chain.allocatedRanges()))
    }

    @Test func nbdinfoListShowsEveryExport() async throws {
        let nbdinfo = try Tool.require("nbdinfo")
        let served = try ServedChain()
        let result = try await nbdinfo.run(["--list", "--json", served.uri()], timeout: 20).requireSuccess()
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput)) as? [String: Any]
        let names = (object?["exports"] as? [[String: Any]])?.compactMap { $0["export-name"] as? String }
        #expect(names?.sorted() == [served.name, served.readOnlyName].sorted(), "\(result)")
    }

    @Test func qemuIORandomWritesMatchAReferenceModel() async throws {
        let qemuIO = try Tool.require("qemu-io")
        let served = try ServedChain()
        var model = try served.contents()
        var generator = SplitMix(seed: 0x5eed)
        var commands: [String] = []
        for index in 0..<60 {
            let length = Int(generator.next() % 96 + 1) * 512
            let offset = Int(generator.next() % (ServedChain.virtualSize - UInt64(length)) / 512) * 512
            let byte = UInt8(truncatingIfNeeded: index * 37 + 1)
            commands += ["-c", "write -P \(byte) \(offset) \(length)"]
            model.replaceSubrange(offset..<offset + length, with: repeatElement(byte, count: length))
        }
        for _ in 0..<20 {
            let offset = Int(generator.next() % (ServedChain.virtualSize / 512)) * 512
            let byte = model[offset]
            commands += ["-c", "read -P \(byte) \(offset) 512"]
        }
        let result = try await qemuIO.run(["-f", "raw"] + commands + [served.uri()], timeout: 60).requireSuccess()
        #expect(!result.output.contains("Pattern verification failed"), "\(result)")
        #expect(try served.contents() == model)
    }
}

extension ClientInteropTests {
    @Test func tcpOnLoopbackServesTheSameExport() async throws {
        let qemuImg = try Tool.require("qemu-img")
        let nbdinfo = try Tool.require("nbdinfo")
        let served = try ServedChain()
        let server = NBDServer(endpoint: .tcp(port: 0), exports: [served.name: ChainExport(chain: served.chain)])
        try server.start()
        defer { server.stop() }
        let port = try #require(server.port)
        #expect(port != 0 && server.socketPath == nil)
        let uri = "nbd://127.0.0.1:\(port)/\(served.name)"
        let info = try await nbdinfo.run(["--json", uri], timeout: 20).requireSuccess()
        #expect(info.output.contains("\"export-size\": \(ServedChain.virtualSize)"), "\(info)")
        let output = served.directory.path(for: "tcp.raw")
        _ = try await qemuImg.run(["convert", "-f", "raw", "-O", "raw", uri, output], timeout: 30).requireSuccess()
        #expect(try ServedChain.fileBytes(output) == served.contents())
    }
}

extension ClientInteropTests {
    @Test func nbdcopyBetweenTwoExportsWithFlushAndMultiConn() async throws {
        let nbdcopy = try Tool.require("nbdcopy")
        let nbdinfo = try Tool.require("nbdinfo")
        let source = try ServedChain()
        let destination = try ServedChain()
        let fresh = ServedChain.pattern(count: 3 << 20, seed: 11)
        try fresh.withUnsafeBytes { try source.chain.write($0, at: (7 << 20) + 512) }
        try [UInt8](repeating: 0x77, count: 4096).withUnsafeBytes { try destination.chain.write($0, at: 14 << 20) }
        #expect(try destination.contents() != source.contents())
        let multiConn = try await nbdinfo.run(["--can", "multi-conn", destination.uri()], timeout: 20)
        #expect(multiConn.status == 0, "CAN_MULTI_CONN is advertised: \(multiConn)")
        _ = try await nbdcopy.run(["--flush", source.uri(source.readOnlyName), destination.uri()], timeout: 30)
            .requireSuccess()
        #expect(try destination.contents() == source.contents())
    }
}

extension ClientInteropTests {
    @Test func theDefaultExportNameMeansTheOnlyExport() async throws {
        let qemuImg = try Tool.require("qemu-img")
        let served = try ServedChain()
        let path = served.directory.path(for: "single.sock")
        let server = NBDServer(socketPath: path, exports: [served.name: ChainExport(chain: served.chain)])
        try server.start()
        defer { server.stop() }
        let info = try await qemuImg.run(["info", "--output=json", "nbd:unix:\(path)"], timeout: 20).requireSuccess()
        let object = try JSONSerialization.jsonObject(with: Data(info.standardOutput)) as? [String: Any]
        #expect((object?["virtual-size"] as? NSNumber)?.uint64Value == ServedChain.virtualSize, "\(info)")
        #expect(served.server.export(named: "") == nil, "two exports: no default")
    }
}

typealias SplitMix = SplitMix64
