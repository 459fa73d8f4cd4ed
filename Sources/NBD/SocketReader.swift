import Sockets
/// Buffered reads from a socket: one `recv` takes up to 64 KiB, so a burst of pipelined
/// requests costs one system call instead of one or two per request. Large payloads go from
/// what is buffered, then straight into the caller's buffer.
///
/// Owned by the one thread reading a connection; not shared.
final class SocketReader {
    static let capacity = 64 << 10

    let socket: StreamSocket
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
    private var start = 0
    private var end = 0

    init(_ socket: StreamSocket) { self.socket = socket }

    /// Whether bytes are buffered: the next read returns without waiting for the peer.
    var hasBufferedBytes: Bool { start < end }

    deinit { buffer.deallocate() }

    /// Reads exactly `count` bytes into a new array.
    func read(exactly count: Int) throws(NBDError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withMutableWireBytes { (raw) throws(NBDError) in try read(into: raw) }
        return bytes
    }

    /// Fills `target` completely; a peer that closes first throws `.closed`.
    func read(into target: UnsafeMutableRawBufferPointer) throws(NBDError) {
        var done = 0
        while done < target.count {
            if start == end {
                // Past the buffer's size nothing is gained by staging: receive directly.
                if target.count - done >= Self.capacity {
                    let rest = UnsafeMutableRawBufferPointer(rebasing: target[done...])
                    try NBDError.socket { () throws(SocketError) in try socket.read(into: rest) }
                    return
                }
                start = 0
                end = try NBDError.socket { () throws(SocketError) in try socket.receive(into: buffer) }
            }
            let count = min(end - start, target.count - done)
            UnsafeMutableRawBufferPointer(rebasing: target[done..<done + count])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[start..<start + count]))
            start += count
            done += count
        }
    }
}
