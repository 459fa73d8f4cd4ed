import Glibc

/// `CLOCK_MONOTONIC` in microseconds: immune to wall-clock steps, for latencies.
public enum MonotonicClock {
    /// Microseconds since an arbitrary fixed point. The corresponding C function is `clock_gettime`.
    public static func microseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}
