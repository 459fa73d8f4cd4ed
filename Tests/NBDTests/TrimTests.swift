import BlockIO
import Foundation
import TestSupport
import Testing
import VHD

@testable import NBD

/// TRIM and WRITE_ZEROES through the server: whole blocks of a leaf without a parent go back
/// to holes (BAT, block status, `st_blocks`, check), partial ends and differencing leaves get
/// zeroes only where data was.
@Suite(.timeLimit(.minutes(1))) struct TrimTests {
    @Test func trimReleasesWholeBlocksAndZeroesThePartialEnds() async throws {
        let served = try ServedDisk()
        let client = try RawClient(served.socketPath)
        _ = try client.connect(to: served.name, structured: true)
        var model = ServedChain.pattern(count: Int(ServedDisk.virtualSize), seed: 7)
        let before = try served.allocatedBytes()

        let range: Range<UInt64> = (1 << 20) + 100..<(6 << 20)
        let cookie = try client.request(Command.trim.rawValue, offset: range.lowerBound, length: UInt32(range.count))
        #expect(try client.simpleReply() == (0, cookie))
        model.replaceSubrange(Int(range.lowerBound)..<Int(range.upperBound), with: repeatElement(0, count: Int(range.count)))

        // Blocks 1 and 2 (2–6 MiB) are holes now; block 0's tail was zeroed in place.
        #expect(served.chain.leaf.blockOffset(1) == nil && served.chain.leaf.blockOffset(2) == nil)
        #expect(served.chain.leaf.blockOffset(0) != nil)
        let extents = try ServedDisk.blockStatus(client)
        #expect(extents.map(\.0) == [2 << 20, 4 << 20, 2 << 20] && extents.map(\.1) == [0, 3, 0])
        #expect(try client.structuredRead(offset: 0, length: UInt32(ServedDisk.virtualSize)).data == model)
        // Two 2 MiB blocks were released; splitting the file's extents may cost ext4 a block or
        // two of extent tree.
        let after = try served.allocatedBytes()
        #expect(before - after >= (4 << 20) - (64 << 10), "st_blocks: \(before) bytes before, \(after) after")
        let report = Check.image(at: served.path)
        #expect(report.isValid, "\(report.problems)")
    }

    @Test func writeZeroesPunchesHolesUnlessNoHoleIsSet() async throws {
        let served = try ServedDisk()
        let client = try RawClient(served.socketPath)
        _ = try client.connect(to: served.name, structured: true)
        let keep = try client.request(
            Command.writeZeroes.rawValue, flags: CommandFlags.noHole.rawValue, offset: 0, length: 2 << 20)
        #expect(try client.simpleReply() == (0, keep))
        #expect(served.chain.leaf.blockOffset(0) != nil)
        let punch = try client.request(Command.writeZeroes.rawValue, offset: 2 << 20, length: 2 << 20)
        #expect(try client.simpleReply() == (0, punch))
        #expect(served.chain.leaf.blockOffset(1) == nil)
        let extents = try ServedDisk.blockStatus(client)
        #expect(extents.map(\.0) == [2 << 20, 2 << 20, 4 << 20] && extents.map(\.1) == [0, 3, 0])
        let read = try client.structuredRead(offset: 0, length: 4 << 20)
        #expect(read.data == [UInt8](repeating: 0, count: 4 << 20))
    }

    @Test func trimOnADifferencingLeafZeroesWhatTheChainHolds() async throws {
        let served = try ServedChain()
        let client = try RawClient(served.socketPath)
        _ = try client.connect(to: served.name, structured: false)
        let cookie = try client.request(Command.trim.rawValue, offset: 0, length: UInt32(ServedChain.virtualSize))
        #expect(try client.simpleReply() == (0, cookie))
        #expect(try served.contents() == [UInt8](repeating: 0, count: Int(ServedChain.virtualSize)))
        // Only blocks where some layer held data were touched in the leaf.
        let touched = (0..<8).filter { served.chain.leaf.blockOffset($0) != nil }
        #expect(touched == [0, 2, 4, 6])
    }

    @Test(.enabled(if: ServedChain.haveClients, Comment(rawValue: ServedChain.missingClients)))
    func qemuIODiscardShowsUpAsHolesInNbdinfoMap() async throws {
        let qemuIO = try Tool.require("qemu-io")
        let nbdinfo = try Tool.require("nbdinfo")
        let served = try ServedDisk()
        let before = try served.allocatedBytes()
        _ = try await qemuIO.run(["-f", "raw", "-c", "discard 2M 4M", served.uri], timeout: 30).requireSuccess()
        let result = try await nbdinfo.run(["--map", "--json", served.uri], timeout: 20).requireSuccess()
        let entries = try #require(
            try JSONSerialization.jsonObject(with: Data(result.standardOutput)) as? [[String: Any]],
            "nbdinfo --map --json: \(result.output)")
        let map = entries.map {
            [($0["offset"] as? NSNumber)?.intValue ?? -1, ($0["length"] as? NSNumber)?.intValue ?? -1,
             ($0["type"] as? NSNumber)?.intValue ?? -1]
        }
        #expect(map == [[0, 2 << 20, 0], [2 << 20, 4 << 20, 3], [6 << 20, 2 << 20, 0]], "\(result.output)")
        let after = try served.allocatedBytes()
        #expect(before - after >= (4 << 20) - (64 << 10), "st_blocks: \(before) bytes before, \(after) after")
    }
}
