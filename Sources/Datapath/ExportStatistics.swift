/// A snapshot of one export's I/O counters since it was opened (they survive pause, unpause
/// and refresh): what the `stats` control operation reports.
public struct ExportStatistics: Codable, Sendable, Equatable {
    /// Percentiles of one operation's latency, in microseconds (time spent in the export, not
    /// time a request was held by a pause).
    public struct Latency: Codable, Sendable, Equatable {
        public var count: UInt64
        public var p50: UInt64
        public var p90: UInt64
        public var p99: UInt64
        public var max: UInt64

        /// The summary of `histogram`.
        public init(_ histogram: LatencyHistogram) {
            count = histogram.count
            p50 = histogram.percentile(0.50)
            p90 = histogram.percentile(0.90)
            p99 = histogram.percentile(0.99)
            max = histogram.maximum
        }
    }

    /// Requests per operation, failed ones included.
    public var reads: UInt64 = 0
    public var writes: UInt64 = 0
    public var flushes: UInt64 = 0
    public var trims: UInt64 = 0
    public var writeZeroes: UInt64 = 0
    public var blockStatus: UInt64 = 0
    /// Bytes returned by successful reads.
    public var bytesRead: UInt64 = 0
    /// Bytes accepted by successful writes (zeroing not included).
    public var bytesWritten: UInt64 = 0
    /// Requests the export failed, any operation.
    public var errors: UInt64 = 0
    public var readLatency = Latency(LatencyHistogram())
    public var writeLatency = Latency(LatencyHistogram())

    public init() {}
}
