import Glibc

/// A blocking Unix stream socket for the control channel, one typed wrapper per system call,
/// with a line reader bounded by `ControlProtocol.maximumLineLength`. A client bounds a whole
/// request with a deadline (a daemon that is stopped still accepts into its backlog and takes
/// bytes into its buffer, then never answers); the server bounds idle reads with a timeout.
///
/// Not thread-safe: one thread owns a connection (the server's per-connection thread, or the
/// client for one request); the listener is accepted on by one thread and shut down by another,
/// which `shutdown(2)` allows.
final class ControlSocket: @unchecked Sendable {
    let descriptor: Int32
    /// Bytes received past the last line returned.
    private var pending: [UInt8] = []

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { Glibc.close(descriptor) }

    /// A new socket. The corresponding C function is `socket`.
    private static func make(path: String) throws(DatapathError) -> ControlSocket {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .system(call: "socket", errno: errno, path: path) }
        return ControlSocket(descriptor: descriptor)
    }

    /// A socket listening at `path`, which must not exist, with mode 0600 whatever the umask:
    /// whoever can connect can serve any file over NBD. The mode is set between `bind` and
    /// `listen`, when nobody can connect yet, so no other user ever can (a process-wide umask
    /// would race with other threads creating files). The corresponding C functions are
    /// `bind`, `chmod` and `listen`.
    static func listen(path: String) throws(DatapathError) -> ControlSocket {
        let socket = try make(path: path)
        try socket.withAddress(path, call: "bind") { Glibc.bind($0, $1, $2) }
        guard chmod(path, 0o600) == 0 else { throw .system(call: "chmod", errno: errno, path: path) }
        guard Glibc.listen(socket.descriptor, 16) == 0 else { throw .system(call: "listen", errno: errno, path: path) }
        return socket
    }

    /// A connection to the socket at `path`, made within `timeout` seconds.
    ///
    /// - Throws: `.unreachable` when nothing listens there, `.timedOut` when it does not accept
    ///   in time. The corresponding C functions are `connect` and `poll`.
    static func connect(path: String, timeout: Double) throws(DatapathError) -> ControlSocket {
        let socket = try make(path: path)
        let flags = fcntl(socket.descriptor, F_GETFL)
        _ = fcntl(socket.descriptor, F_SETFL, flags | O_NONBLOCK)
        let deadline = MonotonicClock.microseconds() + UInt64(timeout * 1_000_000)
        while true {
            do {
                try socket.withAddress(path, call: "connect") { Glibc.connect($0, $1, $2) }
                break
            } catch {
                guard case .system(_, let code, _) = error else { throw error }
                // EAGAIN: the listener's backlog is full; the connect never started, so retry.
                if code == EAGAIN && MonotonicClock.microseconds() < deadline {
                    usleep(10_000)
                    continue
                }
                if code == EAGAIN { throw .timedOut(path: path, waitingFor: "accept a connection", seconds: timeout) }
                guard code == EINPROGRESS else { throw .unreachable(path: path, errno: code) }
                guard try socket.wait(for: Int16(POLLOUT), until: deadline) else {
                    throw .timedOut(path: path, waitingFor: "accept a connection", seconds: timeout)
                }
                var failure: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(socket.descriptor, SOL_SOCKET, SO_ERROR, &failure, &length)
                if failure != 0 { throw .unreachable(path: path, errno: failure) }
                break
            }
        }
        _ = fcntl(socket.descriptor, F_SETFL, flags)
        return socket
    }

    /// Whether something accepts connections at `path` right now.
    static func isListening(path: String) -> Bool {
        (try? connect(path: path, timeout: 1)) != nil
    }

    /// Waits for a connection. The corresponding C function is `accept`.
    func accept() throws(DatapathError) -> ControlSocket {
        while true {
            let client = Glibc.accept(descriptor, nil, nil)
            if client >= 0 {
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                return ControlSocket(descriptor: client)
            }
            if errno == EINTR || errno == ECONNABORTED { continue }
            throw .system(call: "accept", errno: errno, path: "control socket")
        }
    }

    /// Makes a blocking receive give up after `seconds` (0 = never). The corresponding C
    /// function is `setsockopt`.
    func setReceiveTimeout(_ seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next line without its newline; nil when the peer closed the stream at a line boundary.
    ///
    /// - Parameter deadline: when given (`MonotonicClock` microseconds), the whole line must
    ///   arrive by then, however the peer trickles it.
    /// - Throws: `.protocolError` for a line over `maximumLineLength` or cut short by the peer,
    ///   `.timedOut` after the receive timeout or at the deadline. The corresponding C
    ///   functions are `poll` and `recv`.
    func readLine(deadline: UInt64? = nil) throws(DatapathError) -> [UInt8]? {
        var scanned = 0
        while true {
            if let newline = pending[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            scanned = pending.count
            guard pending.count <= ControlProtocol.maximumLineLength else {
                throw .protocolError("request line longer than \(ControlProtocol.maximumLineLength) bytes")
            }
            if let deadline, !(try wait(for: Int16(POLLIN), until: deadline)) { throw Self.timedOut }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let received = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if received > 0 {
                pending += chunk[..<received]
            } else if received == 0 {
                guard pending.isEmpty else { throw .protocolError("stream ended inside a line") }
                return nil
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                throw Self.timedOut
            } else if errno != EINTR {
                throw .system(call: "recv", errno: errno, path: "control socket")
            }
        }
    }

    /// Sends all of `bytes`, never raising `SIGPIPE`; with a `deadline` (`MonotonicClock`
    /// microseconds) never blocking past it, else throwing `.timedOut`. The corresponding C
    /// functions are `poll` and `send`.
    func write(_ bytes: [UInt8], deadline: UInt64? = nil) throws(DatapathError) {
        var done = 0
        let flags = Int32(MSG_NOSIGNAL) | (deadline == nil ? 0 : Int32(MSG_DONTWAIT))
        while done < bytes.count {
            let sent = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + done, $0.count - done, flags) }
            if sent >= 0 {
                done += sent
            } else if let deadline, errno == EAGAIN || errno == EWOULDBLOCK {
                guard try wait(for: Int16(POLLOUT), until: deadline) else { throw Self.timedOut }
            } else if errno != EINTR {
                throw .system(call: "send", errno: errno, path: "control socket")
            }
        }
    }

    /// What `readLine` and `write` throw when time runs out; the client names the daemon, the
    /// stage and the time.
    static let timedOut = DatapathError.timedOut(path: "control socket", waitingFor: "answer", seconds: 0)

    /// Waits until the socket is ready for `events` (or hung up, or in error, which the next
    /// call reports) or `deadline` (`MonotonicClock` microseconds) passes; false at the
    /// deadline. The corresponding C function is `poll`.
    func wait(for events: Int16, until deadline: UInt64) throws(DatapathError) -> Bool {
        while true {
            let now = MonotonicClock.microseconds()
            guard now < deadline else { return false }
            var poller = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&poller, 1, Int32(min((deadline - now + 999) / 1000, UInt64(Int32.max))))
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { throw .system(call: "poll", errno: errno, path: "control socket") }
        }
    }

    /// Stops both directions, waking a thread blocked in `accept` or `recv`.
    func shutdown() {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
    }

    private func withAddress(
        _ path: String, call: String, _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32
    ) throws(DatapathError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .system(call: call, errno: ENAMETOOLONG, path: path)
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
        guard result == 0 else { throw .system(call: call, errno: errno, path: path) }
    }
}
