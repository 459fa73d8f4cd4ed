import Testing

@testable import NBD

/// The wire codecs: encode → decode round trips and the inner-length checks of option data.
@Suite struct WireTests {
    @Test(arguments: [
        (UInt16(0), UInt16(0), UInt64(1), UInt64(0), UInt32(512)),
        (CommandFlags.fua.rawValue, Command.write.rawValue, UInt64.max, UInt64(1) << 40, UInt32.max),
    ])
    func requestHeadersRoundTrip(flags: UInt16, type: UInt16, cookie: UInt64, offset: UInt64, length: UInt32) {
        let header = RequestHeader(flags: flags, type: type, cookie: cookie, offset: offset, length: length)
        let bytes = header.encoded()
        #expect(bytes.count == RequestHeader.size)
        #expect(RequestHeader(bytes) == header)
        var corrupted = bytes
        corrupted[0] ^= 0xff
        #expect(RequestHeader(corrupted) == nil)
    }

    @Test func infoRequestsCheckTheirInnerLengths() {
        let good = RawClient.nameData("disk", extra: [0, 2, 0, 3, 0, 1])
        #expect(InfoRequest(good)?.name == "disk")
        #expect(InfoRequest(good)?.requests == [InfoType.blockSize, InfoType.name])
        #expect(InfoRequest(Array(good.dropLast())) == nil)
        #expect(InfoRequest(good + [0]) == nil)
        #expect(InfoRequest([0, 0, 0x10, 1]) == nil, "a name over 4096 bytes")
    }

    @Test func metaContextRequestsCheckTheirInnerLengths() {
        var writer = WireWriter()
        writer.u32(2)
        for query in ["base:allocation", "qemu:dirty-bitmap:x"] {
            writer.u32(UInt32(query.utf8.count))
            writer.append(query)
        }
        let data = RawClient.nameData("", extra: writer.bytes)
        #expect(MetaContextRequest(data)?.queries == ["base:allocation", "qemu:dirty-bitmap:x"])
        #expect(MetaContextRequest(Array(data.dropLast())) == nil)
        #expect(MetaContextRequest(data + [1]) == nil)
    }

    @Test func extentsAlternateDataAndHolesAndCoverTheRangeExactly() {
        let allocated: [Range<UInt64>] = [0..<4096, 8192..<12288, 20480..<24576]
        let extents = ChainExport.extents(of: 2048..<16384, allocated: allocated)
        #expect(extents.map(\.length) == [2048, 4096, 4096, 4096])
        #expect(extents.map(\.flags.rawValue) == [0, 3, 0, 3])
        #expect(ChainExport.extents(of: 30000..<30512, allocated: allocated).map(\.length) == [512])
        #expect(ChainExport.extents(of: 0..<4096, allocated: allocated).map(\.flags) == [[]])
    }

    @Test func errorChunksCutLongMessages() {
        let chunk = Reply.errorChunk(cookie: 7, error: NBDErrno.eio, message: String(repeating: "x", count: 5000))
        #expect(chunk.count == 20 + 6 + 200)
    }
}
