import Glibc
import Sockets

/// Everything the NBD server reports: socket failures, protocol violations by the peer, and
/// export failures carrying the NBD error value to put on the wire.
public enum NBDError: Error, Sendable, Equatable {
    /// A socket call failed; `operation` names the C function, `errno` its error.
    case system(operation: String, errno: Int32)
    /// The peer closed the connection (a short read).
    case closed
    /// The peer broke the protocol in a way the stream cannot recover from.
    case protocolViolation(String)
    /// An export operation failed with `errno` (an NBD error value, §3.7 of NBD.md).
    case export(errno: UInt32, message: String)
}

/// The NBD error values (NBD spec, "Error values"); never host errno values unmapped.
public enum NBDErrno {
    public static let eperm: UInt32 = 1
    public static let eio: UInt32 = 5
    public static let einval: UInt32 = 22
    public static let enospc: UInt32 = 28
    public static let eoverflow: UInt32 = 75
    public static let enotsup: UInt32 = 95
    public static let eshutdown: UInt32 = 108
}

extension NBDError {
    /// A socket's failure as the server reports it (a receive timeout as `recv`'s `EAGAIN`).
    init(_ error: SocketError) {
        switch error {
        case .system(let call, let errno): self = .system(operation: call, errno: errno)
        case .closed: self = .closed
        case .timedOut: self = .system(operation: "recv", errno: EAGAIN)
        }
    }

    /// Runs socket calls, reporting their failure as an `NBDError`.
    static func socket<T>(_ body: () throws(SocketError) -> T) throws(NBDError) -> T {
        do { return try body() } catch { throw NBDError(error) }
    }
}
