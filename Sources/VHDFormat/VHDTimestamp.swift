/// A VHD timestamp: seconds since 2000-01-01T00:00:00Z (VHD spec, "Time Stamp").
public struct VHDTimestamp: Hashable, Sendable, Comparable {
    /// Unix time of the VHD epoch, 2000-01-01T00:00:00Z.
    public static let epochUnixTime: Int64 = 946_684_800

    public var secondsSince2000: UInt32

    public init(secondsSince2000: UInt32) { self.secondsSince2000 = secondsSince2000 }

    /// The VHD timestamp for a Unix time, clamped into the field's range.
    public init(unixTime: Int64) {
        let seconds = unixTime - VHDTimestamp.epochUnixTime
        self.secondsSince2000 = UInt32(clamping: max(0, seconds))
    }

    public var unixTime: Int64 { Int64(secondsSince2000) + VHDTimestamp.epochUnixTime }

    public static func < (lhs: VHDTimestamp, rhs: VHDTimestamp) -> Bool {
        lhs.secondsSince2000 < rhs.secondsSince2000
    }
}
