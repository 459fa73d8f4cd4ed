import Dispatch
import Glibc

/// Runs code that must not block on a FIFO, and frees it if it does.
public enum FIFOWatchdog {
    /// Runs `body` on another thread and waits at most `seconds` for it; if it is still blocked
    /// then, opens `fifo` for writing so a blocked open returns. Returns whether it blocked.
    public static func blocked(
        unblocking fifo: String, within seconds: Double = 10, _ body: @escaping @Sendable () -> Void
    ) -> Bool {
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            body()
            done.signal()
        }
        guard done.wait(timeout: .now() + seconds) == .timedOut else { return false }
        let writer = open(fifo, O_RDWR | O_NONBLOCK)
        done.wait()
        close(writer)
        return true
    }
}
