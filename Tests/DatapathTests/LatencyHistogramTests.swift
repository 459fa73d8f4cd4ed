import Testing

@testable import Datapath

@Suite struct LatencyHistogramTests {
    @Test func everyValueFallsInABucketAQuarterOfItsSizeWide() {
        var values: [UInt64] = Array(0..<5000)
        var power: UInt64 = 1
        while power < UInt64.max / 4 {
            values += [power - 1, power, power + 1, power * 3 / 2]
            power *= 2
        }
        values.append(.max)
        for value in values {
            let bucket = LatencyHistogram.bucket(of: value)
            #expect(bucket >= 0 && bucket < LatencyHistogram.bucketCount)
            let upper = LatencyHistogram.upperBound(of: bucket)
            let lower = bucket == 0 ? 0 : LatencyHistogram.upperBound(of: bucket - 1) + 1
            #expect(lower <= value && value <= upper, "\(value) in bucket \(bucket) = \(lower)...\(upper)")
            #expect(upper - lower <= max(value / 4, 1), "bucket \(bucket) of \(value) is too wide")
        }
    }

    @Test func percentilesOfAUniformSpreadAreWithinABucketOfTheTruth() {
        var histogram = LatencyHistogram()
        for value in UInt64(1)...1000 { histogram.record(value) }
        #expect(histogram.count == 1000)
        #expect(histogram.maximum == 1000)
        for (fraction, truth) in [(0.5, 500.0), (0.9, 900.0), (0.99, 990.0)] {
            let estimate = Double(histogram.percentile(fraction))
            #expect(estimate >= truth && estimate <= truth * 1.25, "p\(Int(fraction * 100)) = \(estimate)")
        }
        #expect(histogram.percentile(1) == 1000)
    }

    @Test func aPercentileNeverExceedsTheExactMaximumAndAnEmptyHistogramReportsZero() {
        var histogram = LatencyHistogram()
        #expect(histogram.percentile(0.5) == 0)
        histogram.record(1001)
        #expect(histogram.percentile(0.99) == 1001)
        #expect(histogram.maximum == 1001)
    }
}
