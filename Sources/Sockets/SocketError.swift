import Glibc

/// What a socket call failed with.
public enum SocketError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed; `call` names the C function, `errno` its error.
    case system(call: String, errno: Int32)
    /// The peer closed the connection (a short read, a reset, a broken pipe).
    case closed
    /// The receive timeout or a deadline passed first.
    case timedOut

    public var description: String {
        switch self {
        case .system(let call, let errno): return "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
        case .closed: return "the peer closed the connection"
        case .timedOut: return "timed out"
        }
    }
}
