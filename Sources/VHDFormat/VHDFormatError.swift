/// Errors decoding VHD structures: too few bytes for a structure. Everything else about a
/// structure's content is a `Problem`, reported by validation rather than thrown by decoding.
public enum VHDFormatError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(structure: String, expected: Int, got: Int)

    public var description: String {
        switch self {
        case .truncated(let structure, let expected, let got):
            return "\(structure) truncated: need \(expected) bytes, have \(got)"
        }
    }
}
