import Foundation
import TestSupport
import Testing
import VHD

@testable import NBD

/// Malformed handshakes, bad requests and vanishing clients: the right NBD error or a closed
/// connection, and the server keeps serving everyone else.
@Suite struct BadInputTests {
    /// A clean GO plus a READ on a new connection: proof the server still serves.
    func expectStillServing(_ served: ServedChain) throws {
        let client = try RawClient(served.socketPath)
        #expect(try client.connect(to: served.name, structured: false).last == OptionReplyType.ack)
        let cookie = try client.request(Command.read.rawValue, offset: 5 << 20, length: 4096)
        let reply = try client.simpleReply()
        #expect(reply.error == 0 && reply.cookie == cookie)
        let data = try client.socket.read(exactly: 4096)
        #expect(data == Array(try served.contents()[(5 << 20)..<((5 << 20) + 4096)]))
    }

    @Test func malformedHandshakesCloseOnlyTheirOwnConnection() async throws {
        try await onOwnThread {
            let served = try ServedChain()
            let unknownFlags = try RawClient(served.socketPath)
            try unknownFlags.greet(flags: 0x8000_0001)
            #expect(unknownFlags.isClosedByServer())

            let badMagic = try RawClient(served.socketPath)
            try badMagic.greet()
            try badMagic.sendOption(OptionCode.go, RawClient.nameData(served.name), magic: 0x1234)
            #expect(badMagic.isClosedByServer())

            let hugeOption = try RawClient(served.socketPath)
            try hugeOption.greet()
            var writer = WireWriter()
            writer.u64(Handshake.optionMagic)
            writer.u32(OptionCode.go)
            writer.u32(0xFFFF_FFFF)
            try hugeOption.socket.write(writer.bytes)
            #expect(hugeOption.isClosedByServer())

            let unknownExportName = try RawClient(served.socketPath)
            try unknownExportName.greet()
            try unknownExportName.sendOption(OptionCode.exportName, Array("nope".utf8))
            #expect(unknownExportName.isClosedByServer())

            let garbage = try RawClient(served.socketPath)
            try garbage.socket.write(Array("GET / HTTP/1.1\r\n\r\n".utf8))
            garbage.close()
            try expectStillServing(served)
        }
    }

    @Test func unknownOptionsAndExportsAreRefusedAndHagglingGoesOn() async throws {
        try await onOwnThread {
            let served = try ServedChain()
            let client = try RawClient(served.socketPath)
            try client.greet()
            try client.sendOption(42, [1, 2, 3, 4, 5])
            #expect(try client.optionReplies() == [OptionReplyType.errorUnsupported])
            try client.sendOption(11)
            #expect(try client.optionReplies() == [OptionReplyType.errorUnsupported])
            try client.sendOption(OptionCode.go, RawClient.nameData("missing"))
            #expect(try client.optionReplies() == [OptionReplyType.errorUnknown])
            try client.sendOption(OptionCode.go, [0, 0, 0, 200, 1])
            #expect(try client.optionReplies() == [OptionReplyType.errorInvalid])
            try client.sendOption(OptionCode.setMetaContext, RawClient.nameData(served.name, extra: [0, 0, 0, 0]))
            #expect(try client.optionReplies() == [OptionReplyType.errorInvalid], "SET before structured replies")
            try client.sendOption(OptionCode.list)
            let list = try client.optionReplies()
            #expect(list == [OptionReplyType.server, OptionReplyType.server, OptionReplyType.ack])
            try client.sendOption(OptionCode.go, RawClient.nameData(served.name))
            #expect(try client.optionReplies() == [OptionReplyType.info, OptionReplyType.info, OptionReplyType.ack])
            let cookie = try client.request(Command.flush.rawValue, offset: 0, length: 0)
            #expect(try client.simpleReply() == (0, cookie))
        }
    }

    @Test func abortEndsTheHandshakeWithAnAck() async throws {
        try await onOwnThread {
            let served = try ServedChain()
            let client = try RawClient(served.socketPath)
            try client.greet()
            try client.sendOption(OptionCode.abort)
            #expect(try client.optionReplies() == [OptionReplyType.ack])
            #expect(client.isClosedByServer())
        }
    }

    @Test func badRequestsGetTheirNBDErrorAndTheConnectionGoesOn() async throws {
        try await onOwnThread {
            let served = try ServedChain()
            let size = ServedChain.virtualSize
            let client = try RawClient(served.socketPath)
            _ = try client.connect(to: served.name, structured: false)
            let cases: [(UInt16, UInt16, UInt64, UInt32, UInt32)] = [
                (Command.read.rawValue, 0, size - 512, 1024, NBDErrno.einval),
                (Command.read.rawValue, 0, UInt64.max - 10, 512, NBDErrno.einval),
                (Command.read.rawValue, 0, 0, 64 << 20, NBDErrno.einval),
                (Command.trim.rawValue, 0, size, 1, NBDErrno.einval),
                (Command.writeZeroes.rawValue, 0, size - 1, 2, NBDErrno.enospc),
                (99, 0, 0, 512, NBDErrno.einval),
                (Command.read.rawValue, 0x40, 0, 512, NBDErrno.einval),
                (Command.read.rawValue, CommandFlags.noHole.rawValue, 0, 512, NBDErrno.einval),
                (Command.blockStatus.rawValue, 0, 0, 512, NBDErrno.einval),
            ]
            for (type, flags, offset, length, expected) in cases {
                let cookie = try client.request(type, flags: flags, offset: offset, length: length)
                let reply = try client.simpleReply()
                #expect(reply.error == expected && reply.cookie == cookie, "type \(type) at \(offset)+\(length)")
            }
            let payload = [UInt8](repeating: 7, count: 1024)
            let cookie = try client.request(Command.write.rawValue, offset: size - 512, length: 1024, payload: payload)
            #expect(try client.simpleReply() == (NBDErrno.enospc, cookie))
            try expectStillServing(served)
            let read = try client.request(Command.read.rawValue, offset: 0, length: 512)
            #expect(try client.simpleReply() == (0, read))
            #expect(try client.socket.read(exactly: 512) == Array(try served.contents()[0..<512]))
        }
    }

    @Test func writesToAReadOnlyExportGetEPERM() async throws {
        try await onOwnThread {
            let served = try ServedChain()
            let before = try served.contents()
            let client = try RawClient(served.socketPath)
            _ = try client.connect(to: served.readOnlyName, structured: true)
            let payload = [UInt8](repeating: 0xee, count: 4096)
            for (type, body) in [
                (Command.write.rawValue, payload), (Command.writeZeroes.rawValue, []), (Command.trim.rawValue, []),
            ] {
                let cookie = try client.request(type, offset: 0, length: 4096, payload: body)
                let chunk = try client.chunk()
                #expect(chunk.type == Reply.ChunkType.error && chunk.cookie == cookie && chunk.flags == Reply.done)
                #expect(Array(chunk.payload.prefix(4)) == [0, 0, 0, UInt8(NBDErrno.eperm)])
            }
            #expect(try served.contents() == before)
        }
    }

    @Test func oversizedWritePayloadsEndTheConnectionAfterAnError() async throws {
        try await onOwnThread {
            let served = try ServedChain()
            let client = try RawClient(served.socketPath)
            _ = try client.connect(to: served.name, structured: false)
            let cookie = try client.request(Command.write.rawValue, offset: 0, length: 64 << 20)
            #expect(try client.simpleReply() == (NBDErrno.einval, cookie))
            #expect(client.isClosedByServer())
            try expectStillServing(served)
        }
    }

    @Test func aClientVanishingMidRequestLeavesTheServerServing() async throws {
        try await onOwnThread {
            let served = try ServedChain()
            let before = try served.contents()
            for cut in [3, 28 + 100] {
                let client = try RawClient(served.socketPath)
                _ = try client.connect(to: served.name, structured: true)
                let header = RequestHeader(flags: 0, type: Command.write.rawValue, cookie: 1, offset: 0, length: 1 << 20)
                let bytes = header.encoded() + [UInt8](repeating: 0x55, count: 100)
                try client.socket.write(Array(bytes.prefix(cut)))
                client.close()
            }
            let halfGreeted = try RawClient(served.socketPath)
            _ = try halfGreeted.socket.read(exactly: 8)
            halfGreeted.close()
            try expectStillServing(served)
            let deadline = Date().addingTimeInterval(5)
            while served.server.connectionCount > 0 && Date() < deadline { usleep(1000) }
            #expect(served.server.connectionCount == 0)
            #expect(try served.contents() == before)
        }
    }

    @Test func structuredRepliesCarryDataHolesErrorsAndBlockStatus() async throws {
        try await onOwnThread {
            let served = try ServedChain()
            let client = try RawClient(served.socketPath)
            _ = try client.connect(to: served.name, structured: true)
            let contents = try served.contents()
            let mixed = try client.structuredRead(offset: (5 << 20) - 512, length: 8192)
            #expect(mixed.data == Array(contents[((5 << 20) - 512)..<((5 << 20) + 7680)]))
            #expect(mixed.types == [Reply.ChunkType.offsetHole, Reply.ChunkType.offsetData, Reply.ChunkType.offsetHole])
            let hole = try client.structuredRead(offset: 8 << 20, length: 1 << 20)
            #expect(hole.types == [Reply.ChunkType.offsetHole] && hole.data == [UInt8](repeating: 0, count: 1 << 20))
            let whole = try client.structuredRead(offset: 0, length: UInt32(ServedChain.virtualSize))
            #expect(whole.data == contents)

            let empty = try client.request(Command.read.rawValue, offset: 0, length: 0)
            #expect(try client.chunk().type == Reply.ChunkType.none && empty > 0)

            _ = try client.request(Command.read.rawValue, offset: ServedChain.virtualSize, length: 512)
            let error = try client.chunk()
            #expect(error.type == Reply.ChunkType.error && Array(error.payload.prefix(4)) == [0, 0, 0, 22])

            _ = try client.request(Command.blockStatus.rawValue, offset: 4 << 20, length: 4 << 20)
            let status = try client.chunk()
            #expect(status.type == Reply.ChunkType.blockStatus && status.flags == Reply.done)
            var reader = WireReader(status.payload)
            #expect(reader.u32() == allocationContextID)
            var extents: [(UInt32, UInt32)] = []
            while let length = reader.u32(), let flags = reader.u32() { extents.append((length, flags)) }
            let allocated = try served.chain.allocatedRanges()
            let expected = ChainExport.extents(of: (4 << 20)..<(8 << 20), allocated: allocated)
            #expect(extents.map(\.0) == expected.map(\.length) && extents.map(\.1) == expected.map(\.flags.rawValue))
            #expect(extents.first?.1 == 3 && extents.contains { $0.1 == 0 })

            _ = try client.request(
                Command.blockStatus.rawValue, flags: CommandFlags.requestOne.rawValue, offset: 0, length: 16 << 20)
            var one = WireReader(try client.chunk().payload)
            _ = one.u32()
            #expect(one.u32() != nil && one.u32() == 0 && one.remaining == 0)
        }
    }

    @Test func severalConnectionsShareOneExportAndStopDisconnectsThem() async throws {
        try await onOwnThread {
            let served = try ServedChain()
            let clients = try (0..<4).map { _ in try RawClient(served.socketPath) }
            for client in clients { _ = try client.connect(to: served.name, structured: false) }
            let payload = [UInt8](repeating: 0x42, count: 4096)
            let cookie = try clients[0].request(
                Command.write.rawValue, flags: CommandFlags.fua.rawValue, offset: 3 << 20, length: 4096, payload: payload)
            #expect(try clients[0].simpleReply() == (0, cookie))
            for client in clients.dropFirst() {
                let read = try client.request(Command.read.rawValue, offset: 3 << 20, length: 4096)
                #expect(try client.simpleReply() == (0, read))
                #expect(try client.socket.read(exactly: 4096) == payload)
            }
            let started = Date()
            served.server.stop()
            #expect(Date().timeIntervalSince(started) < 5)
            for client in clients { #expect(client.isClosedByServer()) }
            #expect(!FileManager.default.fileExists(atPath: served.socketPath))
        }
    }

    @Test(arguments: [UInt32(1), UInt32(3)])
    func exportNameAnswersWithSizeFlagsAndZeroesUnlessBothSidesDropThem(clientFlags: UInt32) async throws {
        try await onOwnThread {
            let served = try ServedChain()
            let client = try RawClient(served.socketPath)
            try client.greet(flags: clientFlags)
            try client.sendOption(OptionCode.exportName, Array(served.readOnlyName.utf8))
            let padded = clientFlags & Handshake.clientNoZeroes == 0
            var reader = WireReader(try client.socket.read(exactly: padded ? 134 : 10))
            #expect(reader.u64() == ServedChain.virtualSize)
            let flags = TransmissionFlags(rawValue: reader.u16() ?? 0)
            #expect(flags.contains([.hasFlags, .readOnly, .sendFlush]) && !flags.contains(.sendTrim))
            #expect(reader.bytes(reader.remaining) == [UInt8](repeating: 0, count: padded ? 124 : 0))
            let cookie = try client.request(Command.read.rawValue, offset: 12 << 20, length: 512)
            #expect(try client.simpleReply() == (0, cookie))
            #expect(try client.socket.read(exactly: 512) == Array(try served.contents()[(12 << 20)..<((12 << 20) + 512)]))
            try client.request(Command.disconnect.rawValue, offset: 0, length: 0)
            #expect(client.isClosedByServer())
        }
    }

    @Test func idleHandshakesTimeOutAndConnectionsBeyondTheCapAreClosed() async throws {
        try await onOwnThread {
            let served = try ServedChain()
            let path = served.directory.path(for: "capped.sock")
            let server = NBDServer(
                endpoint: .unix(path: path), exports: [served.name: ChainExport(chain: served.chain)],
                handshakeTimeout: 0.3,
                maximumConnections: 2)
            try server.start()
            defer { server.stop() }
            let idle = try RawClient(path)
            let started = Date()
            _ = try idle.socket.read(exactly: 18)
            #expect(idle.isClosedByServer())
            #expect(Date().timeIntervalSince(started) < 5)

            let first = try RawClient(path)
            let second = try RawClient(path)
            for client in [first, second] { _ = try client.connect(to: served.name, structured: false) }
            let third = try RawClient(path)
            #expect(third.isClosedByServer())
            Thread.sleep(forTimeInterval: 0.5)
            let cookie = try first.request(Command.flush.rawValue, offset: 0, length: 0)
            #expect(try first.simpleReply() == (0, cookie), "an established connection outlives the handshake timeout")
            first.close()
            let deadline = Date().addingTimeInterval(5)
            while server.connectionCount > 1 && Date() < deadline { usleep(1000) }
            let fourth = try RawClient(path)
            #expect(try fourth.connect(to: served.name, structured: false).last == OptionReplyType.ack)
        }
    }
}
