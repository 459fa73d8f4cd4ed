#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A blocking stream socket descriptor with one typed wrapper per system call.
struct Socket: Sendable, Hashable {
    let descriptor: Int32

    /// A new Unix stream socket. The corresponding C function is `socket`.
    static func unixStream() throws(NBDError) -> Socket {
        #if canImport(Glibc)
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
            let descriptor = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw .system(operation: "socket", errno: errno) }
        return Socket(descriptor: descriptor)
    }

    /// A new IPv4 TCP stream socket with `SO_REUSEADDR` set. The corresponding C function is `socket`.
    static func tcpStream() throws(NBDError) -> Socket {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw .system(operation: "socket", errno: errno) }
        let socket = Socket(descriptor: descriptor)
        do { try socket.setOption(SOL_SOCKET, SO_REUSEADDR, name: "SO_REUSEADDR") } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// Sets an integer socket option to 1. The corresponding C function is `setsockopt`.
    func setOption(_ level: Int32, _ option: Int32, name: String) throws(NBDError) {
        var one: Int32 = 1
        guard setsockopt(descriptor, level, option, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw .system(operation: "setsockopt(\(name))", errno: errno)
        }
    }

    /// Makes a blocking receive give up after `seconds` (0 = wait forever); a timed-out read
    /// throws `.system(operation: "recv", errno: EAGAIN)`. The corresponding C function is `setsockopt`.
    func setReceiveTimeout(_ seconds: Double) throws(NBDError) {
        var value = timeval()
        value.tv_sec = Int(seconds)
        value.tv_usec = Int((seconds - Double(Int(seconds))) * 1_000_000)
        guard setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size)) == 0
        else { throw .system(operation: "setsockopt(SO_RCVTIMEO)", errno: errno) }
    }

    /// Disables Nagle's algorithm (NBD wants `TCP_NODELAY` on both sides).
    func setNoDelay() throws(NBDError) {
        try setOption(Int32(IPPROTO_TCP), TCP_NODELAY, name: "TCP_NODELAY")
    }

    /// Binds to the IPv4 address `host` (dotted quad) and `port` (0 = any free port).
    /// The corresponding C functions are `inet_pton` and `bind`.
    func bind(ipv4 host: String, port: UInt16) throws(NBDError) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw .system(operation: "inet_pton(\(host))", errno: EINVAL)
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                #if canImport(Glibc)
                    Glibc.bind(descriptor, generic, socklen_t(MemoryLayout<sockaddr_in>.size))
                #else
                    Darwin.bind(descriptor, generic, socklen_t(MemoryLayout<sockaddr_in>.size))
                #endif
            }
        }
        guard result == 0 else { throw .system(operation: "bind", errno: errno) }
    }

    /// The local IPv4 port the socket is bound to. The corresponding C function is `getsockname`.
    func localPort() throws(NBDError) -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard result == 0 else { throw .system(operation: "getsockname", errno: errno) }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Binds to the Unix socket `path` (at most 107 bytes). The corresponding C function is `bind`.
    func bind(path: String) throws(NBDError) {
        try withAddress(path, operation: "bind") { descriptor, address, length in
            #if canImport(Glibc)
                Glibc.bind(descriptor, address, length)
            #else
                Darwin.bind(descriptor, address, length)
            #endif
        }
    }

    /// Makes the socket file at `path`, bound but not yet listening, readable and writable by
    /// its owner only, whatever the umask made it. Connecting needs write permission on the
    /// file (unix(7)), and nobody can connect before `listen`, so no other user ever can; a
    /// process-wide umask would instead race with other threads creating files.
    /// The corresponding C function is `chmod`.
    func restrictToOwner(path: String) throws(NBDError) {
        guard chmod(path, 0o600) == 0 else { throw .system(operation: "chmod", errno: errno) }
    }

    /// Connects to the Unix socket `path` (a client, as the tests use). The corresponding C function is `connect`.
    func connect(path: String) throws(NBDError) {
        try withAddress(path, operation: "connect") { descriptor, address, length in
            #if canImport(Glibc)
                Glibc.connect(descriptor, address, length)
            #else
                Darwin.connect(descriptor, address, length)
            #endif
        }
    }

    private func withAddress(
        _ path: String, operation: String, _ call: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32
    ) throws(NBDError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw .system(operation: operation, errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                call(descriptor, generic, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw .system(operation: operation, errno: errno) }
    }

    /// Starts listening. The corresponding C function is `listen`.
    func listen(backlog: Int32 = 64) throws(NBDError) {
        #if canImport(Glibc)
            let result = Glibc.listen(descriptor, backlog)
        #else
            let result = Darwin.listen(descriptor, backlog)
        #endif
        guard result == 0 else { throw .system(operation: "listen", errno: errno) }
    }

    /// Waits for a connection. The corresponding C function is `accept`.
    func accept() throws(NBDError) -> Socket {
        while true {
            #if canImport(Glibc)
                let client = Glibc.accept(descriptor, nil, nil)
            #else
                let client = Darwin.accept(descriptor, nil, nil)
            #endif
            if client >= 0 { return Socket(descriptor: client) }
            if errno == EINTR || errno == ECONNABORTED { continue }
            throw .system(operation: "accept", errno: errno)
        }
    }

    /// Reads exactly `count` bytes; a peer that closes first throws `.closed`.
    /// The corresponding C function is `recv`.
    func read(exactly count: Int) throws(NBDError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        try buffer.withMutableWireBytes { (raw) throws(NBDError) in try read(into: raw) }
        return buffer
    }

    /// Fills `buffer` completely. The corresponding C function is `recv`.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(NBDError) {
        var done = 0
        while done < buffer.count {
            let result = recv(descriptor, buffer.baseAddress! + done, buffer.count - done, 0)
            if result > 0 {
                done += result
            } else if result == 0 {
                throw .closed
            } else if errno != EINTR {
                if errno == ECONNRESET { throw .closed }
                throw .system(operation: "recv", errno: errno)
            }
        }
    }

    /// Receives what is available (at least one byte, at most `buffer.count`); a peer that
    /// closes throws `.closed`. The corresponding C function is `recv`.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(NBDError) -> Int {
        while true {
            let result = recv(descriptor, buffer.baseAddress!, buffer.count, 0)
            if result > 0 { return result }
            if result == 0 { throw .closed }
            if errno == EINTR { continue }
            if errno == ECONNRESET { throw .closed }
            throw .system(operation: "recv", errno: errno)
        }
    }

    /// Asks for `bytes`-byte send and receive buffers (the kernel caps them at
    /// `net.core.wmem_max`/`rmem_max`), so a large READ reply or WRITE payload moves in few
    /// system calls. The corresponding C function is `setsockopt`.
    func setBufferSizes(_ bytes: Int32) throws(NBDError) {
        var value = bytes
        for (option, name) in [(SO_SNDBUF, "SO_SNDBUF"), (SO_RCVBUF, "SO_RCVBUF")] {
            guard setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw .system(operation: "setsockopt(\(name))", errno: errno)
            }
        }
    }

    /// Writes all of `bytes`, never raising `SIGPIPE`. The corresponding C function is `send`.
    func write(_ bytes: UnsafeRawBufferPointer) throws(NBDError) {
        var done = 0
        while done < bytes.count {
            #if canImport(Glibc)
                let flags = Int32(MSG_NOSIGNAL)
            #else
                let flags: Int32 = 0
            #endif
            let result = send(descriptor, bytes.baseAddress! + done, bytes.count - done, flags)
            if result >= 0 {
                done += result
            } else if errno != EINTR {
                if errno == EPIPE || errno == ECONNRESET { throw .closed }
                throw .system(operation: "send", errno: errno)
            }
        }
    }

    func write(_ bytes: [UInt8]) throws(NBDError) {
        try bytes.withWireBytes { (raw) throws(NBDError) in try write(raw) }
    }

    /// Stops both directions, waking a thread blocked in `accept` or `recv`.
    /// The corresponding C function is `shutdown`.
    func shutdown() {
        #if canImport(Glibc)
            _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
        #else
            _ = Darwin.shutdown(descriptor, SHUT_RDWR)
        #endif
    }

    /// Releases the descriptor. The corresponding C function is `close`.
    func close() {
        #if canImport(Glibc)
            _ = Glibc.close(descriptor)
        #else
            _ = Darwin.close(descriptor)
        #endif
    }
}
