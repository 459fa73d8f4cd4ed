import Glibc

/// Why a child process could not be started.
public enum SpawnError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call before the spawn failed (`open` of a log, `pipe`).
    case system(call: String, errno: Int32, path: String)
    /// `posix_spawn` itself failed with `errno`.
    case spawn(executable: String, errno: Int32)

    public var description: String {
        switch self {
        case .system(let call, let errno, let path): return "\(call) \(path): \(Self.text(errno)) (errno \(errno))"
        case .spawn(let executable, let errno): return "posix_spawn \(executable): \(Self.text(errno)) (errno \(errno))"
        }
    }

    static func text(_ errno: Int32) -> String { String(cString: strerror(errno)) }
}
