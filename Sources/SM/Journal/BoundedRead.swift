/// What reading a record file with a size bound found: its bytes, or only its size when that is
/// over the bound (the file is never read, so a huge or sparse file cannot exhaust memory).
public enum BoundedRead: Hashable, Sendable, CustomStringConvertible {
    case bytes([UInt8])
    case oversized(size: UInt64, limit: Int)

    public var description: String {
        switch self {
        case .bytes(let bytes): return "\(bytes.count) bytes"
        case .oversized(let size, let limit): return "\(size) bytes, more than the \(limit) a record may be"
        }
    }

    /// The bytes, or `SRError(code)` naming the file for an oversized one.
    func bytes(of path: String, code: SRErrorCode) throws(SRError) -> [UInt8] {
        switch self {
        case .bytes(let bytes): return bytes
        case .oversized(let size, let limit):
            throw SRError(code, opterr: "\(path) is \(size) bytes, more than the \(limit) a record may be")
        }
    }
}
