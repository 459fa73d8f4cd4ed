/// The footer's disk type field (VHD spec, "Disk Type"); blktap accepts values up to 6.
public enum DiskType: UInt32, Sendable, CaseIterable {
    case none = 0
    case reserved = 1
    case fixed = 2
    case dynamic = 3
    case differencing = 4
    case reserved5 = 5
    case reserved6 = 6

    /// Whether images of this type have a dynamic header, BAT and blocks.
    public var isSparse: Bool { self == .dynamic || self == .differencing }

    /// The words blktap's `vhd-util read -p` prints.
    public var blktapDescription: String {
        switch self {
        case .none: return "None"
        case .reserved: return "Reserved (deprecated)"
        case .fixed: return "Fixed hard disk"
        case .dynamic: return "Dynamic hard disk"
        case .differencing: return "Differencing hard disk"
        case .reserved5, .reserved6: return "Unknown"
        }
    }
}
