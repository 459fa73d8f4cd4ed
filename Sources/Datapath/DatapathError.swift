import Glibc

/// Everything the datapath reports: a daemon that cannot be reached, a request it refused,
/// a reply it garbled, and the daemon's own failures (opening a volume, binding a socket).
public enum DatapathError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing answers on the control socket at `path` (`connect` failed with `errno`): the
    /// daemon is dead, not started, or not listening yet.
    case unreachable(path: String, errno: Int32)
    /// The daemon at `path` did not `waitingFor` ("accept a connection", "take the pause
    /// request", "answer pause") within `seconds`: it is stopped, wedged, or overloaded.
    case timedOut(path: String, waitingFor: String, seconds: Double)
    /// The daemon answered `{"ok":false}` with this message.
    case refused(String)
    /// The daemon's reply (or a client's request) was not what the protocol says.
    case protocolError(String)
    /// A volume could not be opened as an export.
    case openFailed(path: String, message: String)
    /// A system call failed; `call` names the C function.
    case system(call: String, errno: Int32, path: String)
    /// Another live daemon listens on the socket at `path`.
    case socketInUse(path: String)
    /// The daemon's command line is wrong.
    case usage(String)
    /// The daemon did not come up; `log` is the tail of its log.
    case launchFailed(reason: String, log: String)

    public var description: String {
        switch self {
        case .unreachable(let path, let errno):
            return "datapath daemon unreachable at \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        case .timedOut(let path, let waitingFor, let seconds):
            return "datapath daemon at \(path) did not \(waitingFor) within \(seconds) s"
        case .refused(let message): return "datapath daemon refused: \(message)"
        case .protocolError(let message): return "datapath control protocol error: \(message)"
        case .openFailed(let path, let message): return "cannot open \(path): \(message)"
        case .system(let call, let errno, let path):
            return "\(call) failed on \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        case .socketInUse(let path): return "another daemon is listening on \(path)"
        case .usage(let message): return message
        case .launchFailed(let reason, let log): return "datapath daemon did not start: \(reason)\n\(log)"
        }
    }
}
