/// The running counters behind `ExportStatistics`: counts, bytes and two latency histograms,
/// all fixed-size. A value type; `ControlledExport` keeps it under its lock.
struct IOCounters: Sendable {
    /// The NBD operations counted.
    enum Operation: Sendable {
        case read, write, flush, trim, writeZeroes, blockStatus
    }

    private var statistics = ExportStatistics()
    private var readLatency = LatencyHistogram()
    private var writeLatency = LatencyHistogram()

    /// Counts one finished request: `byteCount` moved (reads and writes), `microseconds`
    /// spent, and whether it failed.
    mutating func record(_ operation: Operation, byteCount: Int, microseconds: UInt64, failed: Bool) {
        if failed { statistics.errors += 1 }
        switch operation {
        case .read:
            statistics.reads += 1
            readLatency.record(microseconds)
            if !failed { statistics.bytesRead += UInt64(byteCount) }
        case .write:
            statistics.writes += 1
            writeLatency.record(microseconds)
            if !failed { statistics.bytesWritten += UInt64(byteCount) }
        case .flush: statistics.flushes += 1
        case .trim: statistics.trims += 1
        case .writeZeroes: statistics.writeZeroes += 1
        case .blockStatus: statistics.blockStatus += 1
        }
    }

    /// The counters as reported.
    var snapshot: ExportStatistics {
        var result = statistics
        result.readLatency = ExportStatistics.Latency(readLatency)
        result.writeLatency = ExportStatistics.Latency(writeLatency)
        return result
    }
}
