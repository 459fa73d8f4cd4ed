import Foundation
import TestSupport
import Testing
import VHD

@testable import NBD

/// Requests pipelined on one connection, served in order (the default) or concurrently: every
/// request gets exactly one reply with its own cookie and its own data, in any order.
@Suite(.timeLimit(.minutes(1))) struct PipelineTests {
    @Test(arguments: [1, 16])
    func pipelinedReadsAndWritesEachGetTheirOwnReply(requestsPerConnection: Int) async throws {
        try await onOwnThread {
            let served = try ServedChain()
            let path = served.directory.path(for: "pipeline.sock")
            let server = NBDServer(
                endpoint: .unix(path: path), exports: [served.name: ChainExport(chain: served.chain)],
                requestsPerConnection: requestsPerConnection)
            try server.start()
            defer { server.stop() }
            let client = try RawClient(path)
            _ = try client.connect(to: served.name, structured: false)
            var expected = try served.contents()

            // 48 reads of 4 KiB to 64 KiB spread over the disk, with 16 writes to their own 4 KiB
            // slots (above 14 MiB, where no read looks) in between, all sent before any reply is read.
            var reads: [UInt64: (offset: Int, count: Int)] = [:]
            var writes: Set<UInt64> = []
            for index in 0..<64 {
                if index % 4 == 3 {
                    let offset = (14 << 20) + UInt64(index) * 4096
                    let payload = [UInt8](repeating: UInt8(index), count: 4096)
                    writes.insert(try client.request(Command.write.rawValue, offset: offset, length: 4096, payload: payload))
                    expected.replaceSubrange(Int(offset)..<Int(offset) + 4096, with: payload)
                } else {
                    let offset = (index * 212_992) % (13 << 20)
                    let count = 4096 << (index % 5)
                    reads[try client.request(Command.read.rawValue, offset: UInt64(offset), length: UInt32(count))] =
                        (offset, count)
                }
            }
            let contents = try served.contents()
            for _ in 0..<64 {
                let reply = try client.simpleReply()
                #expect(reply.error == 0)
                if let read = reads.removeValue(forKey: reply.cookie) {
                    let data = try client.socket.read(exactly: read.count)
                    #expect(data == Array(contents[read.offset..<read.offset + read.count]), "read at \(read.offset)")
                } else {
                    #expect(writes.remove(reply.cookie) != nil, "unexpected cookie \(reply.cookie)")
                }
            }
            #expect(reads.isEmpty && writes.isEmpty)
            #expect(try served.contents() == expected)
        }
    }
}
