import Glibc

/// A stream socket descriptor (Unix or TCP) with one typed wrapper per system call: the one
/// socket layer under the NBD server and the datapath's control channel. Blocking, except where
/// a call takes a deadline (`MonotonicClock` microseconds), which it never blocks past.
///
/// A value type: the owner closes it once (`close`).
public struct StreamSocket: Sendable, Hashable {
    public let descriptor: Int32

    public init(descriptor: Int32) { self.descriptor = descriptor }

    // MARK: Making one

    /// A new Unix stream socket, close-on-exec. The corresponding C function is `socket`.
    public static func unixStream() throws(SocketError) -> StreamSocket {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .system(call: "socket", errno: errno) }
        return StreamSocket(descriptor: descriptor)
    }

    /// A new IPv4 TCP stream socket, close-on-exec, with `SO_REUSEADDR` set. The corresponding
    /// C function is `socket`.
    public static func tcpStream() throws(SocketError) -> StreamSocket {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .system(call: "socket", errno: errno) }
        let socket = StreamSocket(descriptor: descriptor)
        do { try socket.setOption(SOL_SOCKET, SO_REUSEADDR, name: "SO_REUSEADDR") } catch {
            socket.close()
            throw error
        }
        return socket
    }

    // MARK: Options

    /// Sets an integer socket option to 1. The corresponding C function is `setsockopt`.
    public func setOption(_ level: Int32, _ option: Int32, name: String) throws(SocketError) {
        var one: Int32 = 1
        guard setsockopt(descriptor, level, option, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw .system(call: "setsockopt(\(name))", errno: errno)
        }
    }

    /// Makes a blocking receive give up after `seconds` (0 = wait forever) with `.timedOut`.
    /// The corresponding C function is `setsockopt`.
    public func setReceiveTimeout(_ seconds: Double) throws(SocketError) {
        var value = timeval()
        value.tv_sec = Int(seconds)
        value.tv_usec = Int((seconds - Double(Int(seconds))) * 1_000_000)
        guard setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size)) == 0
        else { throw .system(call: "setsockopt(SO_RCVTIMEO)", errno: errno) }
    }

    /// Disables Nagle's algorithm (NBD wants `TCP_NODELAY` on both sides).
    public func setNoDelay() throws(SocketError) {
        try setOption(Int32(IPPROTO_TCP), TCP_NODELAY, name: "TCP_NODELAY")
    }

    /// Asks for `bytes`-byte send and receive buffers (the kernel caps them at
    /// `net.core.wmem_max`/`rmem_max`), so a large READ reply or WRITE payload moves in few
    /// system calls. The corresponding C function is `setsockopt`.
    public func setBufferSizes(_ bytes: Int32) throws(SocketError) {
        var value = bytes
        for (option, name) in [(SO_SNDBUF, "SO_SNDBUF"), (SO_RCVBUF, "SO_RCVBUF")] {
            guard setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw .system(call: "setsockopt(\(name))", errno: errno)
            }
        }
    }

    // MARK: Addresses

    /// Binds to the IPv4 address `host` (dotted quad) and `port` (0 = any free port).
    /// The corresponding C functions are `inet_pton` and `bind`.
    public func bind(ipv4 host: String, port: UInt16) throws(SocketError) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw .system(call: "inet_pton(\(host))", errno: EINVAL)
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                Glibc.bind(descriptor, generic, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw .system(call: "bind", errno: errno) }
    }

    /// The local IPv4 port the socket is bound to. The corresponding C function is `getsockname`.
    public func localPort() throws(SocketError) -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard result == 0 else { throw .system(call: "getsockname", errno: errno) }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Binds to the Unix socket `path` (at most 107 bytes). The corresponding C function is `bind`.
    public func bind(path: String) throws(SocketError) {
        try withAddress(path, call: "bind") { Glibc.bind($0, $1, $2) }
    }

    /// Makes the socket file at `path`, bound but not yet listening, readable and writable by
    /// its owner only, whatever the umask made it. Connecting needs write permission on the
    /// file (unix(7)), and nobody can connect before `listen`, so no other user ever can; a
    /// process-wide umask would instead race with other threads creating files.
    /// The corresponding C function is `chmod`.
    public func restrictToOwner(path: String) throws(SocketError) {
        guard chmod(path, 0o600) == 0 else { throw .system(call: "chmod", errno: errno) }
    }

    /// Connects to the Unix socket `path`, blocking. The corresponding C function is `connect`.
    public func connect(path: String) throws(SocketError) {
        try withAddress(path, call: "connect") { Glibc.connect($0, $1, $2) }
    }

    /// Connects to the Unix socket `path` by `deadline`: a full backlog (`EAGAIN`) is retried
    /// until then, a connect in progress is waited for. Throws `.timedOut` at the deadline,
    /// `.system(call: "connect", …)` when nothing listens. The corresponding C functions are
    /// `fcntl`, `connect`, `poll` and `getsockopt`.
    public func connect(path: String, deadline: UInt64) throws(SocketError) {
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(descriptor, F_SETFL, flags) }
        while true {
            do {
                try connect(path: path)
                return
            } catch {
                guard case .system(_, let code) = error else { throw error }
                if code == EAGAIN {
                    // The listener's backlog is full; the connect never started, so retry.
                    guard MonotonicClock.microseconds() < deadline else { throw .timedOut }
                    usleep(10_000)
                    continue
                }
                guard code == EINPROGRESS else { throw error }
                guard try wait(for: Int16(POLLOUT), until: deadline) else { throw .timedOut }
                var failure: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &length)
                if failure != 0 { throw .system(call: "connect", errno: failure) }
                return
            }
        }
    }

    private func withAddress(
        _ path: String, call: String, _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32
    ) throws(SocketError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .system(call: call, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw .system(call: call, errno: errno) }
    }

    // MARK: Listening

    /// Starts listening. The corresponding C function is `listen`.
    public func listen(backlog: Int32 = 64) throws(SocketError) {
        guard Glibc.listen(descriptor, backlog) == 0 else { throw .system(call: "listen", errno: errno) }
    }

    /// Waits for a connection, made close-on-exec (`accept4` is a GNU extension Swift does not
    /// import). The corresponding C functions are `accept` and `fcntl`.
    public func accept() throws(SocketError) -> StreamSocket {
        while true {
            let client = Glibc.accept(descriptor, nil, nil)
            if client >= 0 {
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                return StreamSocket(descriptor: client)
            }
            if errno == EINTR || errno == ECONNABORTED { continue }
            throw .system(call: "accept", errno: errno)
        }
    }

    // MARK: Data

    /// Reads exactly `count` bytes; a peer that closes first throws `.closed`.
    /// The corresponding C function is `recv`.
    public func read(exactly count: Int) throws(SocketError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var outcome: Result<Void, SocketError> = .success(())
        buffer.withUnsafeMutableBytes { raw in
            do throws(SocketError) { try read(into: raw) } catch { outcome = .failure(error) }
        }
        try outcome.get()
        return buffer
    }

    /// Fills `buffer` completely. The corresponding C function is `recv`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) {
        var done = 0
        while done < buffer.count {
            done += try receive(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
        }
    }

    /// Receives what is available (at least one byte, at most `buffer.count`); a peer that
    /// closes throws `.closed`, the receive timeout `.timedOut`. The corresponding C function
    /// is `recv`.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        while true {
            let result = recv(descriptor, buffer.baseAddress!, buffer.count, 0)
            if result > 0 { return result }
            if result == 0 { throw .closed }
            switch errno {
            case EINTR: continue
            case ECONNRESET: throw .closed
            case EAGAIN, EWOULDBLOCK: throw .timedOut
            default: throw .system(call: "recv", errno: errno)
            }
        }
    }

    /// Writes all of `bytes`, never raising `SIGPIPE`; with a `deadline`, never blocking past
    /// it (`.timedOut`). A peer gone throws `.closed`. The corresponding C functions are
    /// `send` and `poll`.
    public func write(_ bytes: UnsafeRawBufferPointer, deadline: UInt64? = nil) throws(SocketError) {
        var done = 0
        let flags = Int32(MSG_NOSIGNAL) | (deadline == nil ? 0 : Int32(MSG_DONTWAIT))
        while done < bytes.count {
            let result = send(descriptor, bytes.baseAddress! + done, bytes.count - done, flags)
            if result >= 0 {
                done += result
                continue
            }
            switch errno {
            case EINTR: continue
            case EPIPE, ECONNRESET: throw .closed
            case EAGAIN, EWOULDBLOCK:
                guard let deadline, try wait(for: Int16(POLLOUT), until: deadline) else { throw .timedOut }
            default: throw .system(call: "send", errno: errno)
            }
        }
    }

    public func write(_ bytes: [UInt8], deadline: UInt64? = nil) throws(SocketError) {
        var outcome: Result<Void, SocketError> = .success(())
        bytes.withUnsafeBytes { raw in
            do throws(SocketError) { try write(raw, deadline: deadline) } catch { outcome = .failure(error) }
        }
        try outcome.get()
    }

    /// Waits until the socket is ready for `events` (or hung up, or in error, which the next
    /// call reports) or `deadline` (`MonotonicClock` microseconds) passes; false at the
    /// deadline. The corresponding C function is `poll`.
    public func wait(for events: Int16, until deadline: UInt64) throws(SocketError) -> Bool {
        while true {
            let now = MonotonicClock.microseconds()
            guard now < deadline else { return false }
            var poller = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&poller, 1, Int32(min((deadline - now + 999) / 1000, UInt64(Int32.max))))
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { throw .system(call: "poll", errno: errno) }
        }
    }

    // MARK: Ending

    /// Stops both directions, waking a thread blocked in `accept` or `recv`.
    /// The corresponding C function is `shutdown`.
    public func shutdown() {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
    }

    /// Releases the descriptor. The corresponding C function is `close`.
    public func close() {
        _ = Glibc.close(descriptor)
    }
}
