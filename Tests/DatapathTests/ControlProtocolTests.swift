import Datapath
import Foundation
import Testing

@Suite struct ControlProtocolTests {
    @Test func requestsRoundTripAsOneLine() throws {
        let requests = [
            ControlRequest(.status), ControlRequest(.open, export: "u", path: "/sr/a b.vhd", readOnly: true),
            ControlRequest(.unpause, export: "u", path: "/sr/new\n.vhd"), ControlRequest(.stats),
        ]
        for request in requests {
            let line = try ControlProtocol.line(request)
            #expect(line.last == UInt8(ascii: "\n"))
            #expect(line.dropLast().contains(UInt8(ascii: "\n")) == false, "a newline inside a value is escaped")
            #expect(try ControlProtocol.decode(ControlRequest.self, from: Array(line.dropLast())) == request)
        }
    }

    @Test func repliesOmitAbsentFieldsAndRoundTrip() throws {
        #expect(String(decoding: try ControlProtocol.line(ControlReply.success), as: UTF8.self) == "{\"ok\":true}\n")
        #expect(
            String(decoding: try ControlProtocol.line(ControlReply.failure("no export named x")), as: UTF8.self)
                == "{\"error\":\"no export named x\",\"ok\":false}\n")
        var reply = ControlReply.success
        reply.pid = 42
        reply.exports = [ExportStatus(name: "u", path: "/sr/u.vhd", readOnly: false, paused: true, size: 1 << 30)]
        var statistics = ExportStatistics()
        statistics.writes = 3
        reply.statistics = ["u": statistics]
        let line = try ControlProtocol.line(reply)
        #expect(try ControlProtocol.decode(ControlReply.self, from: Array(line.dropLast())) == reply)
    }
}
