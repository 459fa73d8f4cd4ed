import BlockIO

/// What a container operation failed with.
public enum VolumeError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(container: String, volume: String)
    case exists(container: String, volume: String)
    case invalidName(String)
    case noSpace(container: String, needed: UInt64)
    case io(container: String, volume: String, BlockIOError)
    case unsupported(container: String, operation: String)

    public var description: String {
        switch self {
        case .notFound(let container, let volume): return "volume \(volume) not found in \(container)"
        case .exists(let container, let volume): return "volume \(volume) already exists in \(container)"
        case .invalidName(let name): return "invalid volume name '\(name)'"
        case .noSpace(let container, let needed): return "\(container) has no room for \(needed) more bytes"
        case .io(let container, let volume, let error): return "\(container)/\(volume): \(error)"
        case .unsupported(let container, let operation): return "\(container) does not support \(operation)"
        }
    }
}
