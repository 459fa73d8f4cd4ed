/// Latencies in microseconds counted in fixed log-scale buckets: four buckets per power of two
/// (so a bucket's width is at most a quarter of its value), 256 buckets covering 0 µs to far
/// beyond any real request. Memory is fixed however many samples are recorded.
public struct LatencyHistogram: Sendable, Equatable {
    /// Buckets per power of two (2^`subBucketBits`).
    static let subBucketBits = 2
    static let bucketCount = 256

    private var buckets = [UInt64](repeating: 0, count: bucketCount)
    /// The samples recorded.
    public private(set) var count: UInt64 = 0
    /// The largest sample, exact.
    public private(set) var maximum: UInt64 = 0

    public init() {}

    /// Counts one request that took `microseconds`.
    public mutating func record(_ microseconds: UInt64) {
        buckets[Self.bucket(of: microseconds)] += 1
        count += 1
        maximum = max(maximum, microseconds)
    }

    /// The latency below which a `fraction` (0…1) of the samples fall: the upper bound of the
    /// bucket holding that rank, never above the exact maximum; 0 when empty.
    public func percentile(_ fraction: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = max(1, UInt64((Double(count) * min(max(fraction, 0), 1)).rounded(.up)))
        var seen: UInt64 = 0
        for (index, bucketCount) in buckets.enumerated() {
            seen += bucketCount
            if seen >= rank { return min(Self.upperBound(of: index), maximum) }
        }
        return maximum
    }

    /// The bucket of `value`: values below 4 have one each; above, the power of two and the
    /// next two bits pick it.
    static func bucket(of value: UInt64) -> Int {
        let sub = UInt64(1) << subBucketBits
        if value < sub { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount
        let shift = exponent - subBucketBits
        let mantissa = Int((value >> UInt64(shift)) & (sub - 1))
        return min(Int(sub) + shift * Int(sub) + mantissa, bucketCount - 1)
    }

    /// The largest value that falls in bucket `index`.
    static func upperBound(of index: Int) -> UInt64 {
        let sub = 1 << subBucketBits
        if index < sub { return UInt64(index) }
        let shift = (index - sub) / sub
        let mantissa = UInt64((index - sub) % sub)
        let (end, overflow) = ((UInt64(sub) | mantissa) + 1).multipliedReportingOverflow(by: 1 << UInt64(shift))
        return overflow ? .max : end - 1
    }
}
