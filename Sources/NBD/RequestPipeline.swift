import Dispatch
import Foundation

/// Runs one connection's requests concurrently on the global dispatch queue, so a client that
/// pipelines (fio at iodepth 32, nbdcopy's 64 requests per connection) is served in parallel;
/// replies may leave in any order, matched by cookie (NBD spec, "Ordering").
///
/// Admission is bounded by a request count and by payload bytes (a write's data, a read's
/// buffer), so a client cannot make the server hold more than `byteBudget` at once; a single
/// request larger than the budget is still admitted when nothing else is in flight.
///
/// Locking: `condition` guards `inFlight` and `bytes`.
final class RequestPipeline: @unchecked Sendable {
    private let condition = NSCondition()
    private var inFlight = 0
    private var bytes = 0
    let maximumRequests: Int
    let byteBudget: Int

    init(maximumRequests: Int = 16, byteBudget: Int = 64 << 20) {
        self.maximumRequests = maximumRequests
        self.byteBudget = byteBudget
    }

    /// Waits for room for a request costing `cost` bytes, then runs `work` asynchronously.
    func submit(cost: Int, _ work: @escaping @Sendable () -> Void) {
        condition.lock()
        while inFlight > 0 && (inFlight >= maximumRequests || bytes + cost > byteBudget) { condition.wait() }
        inFlight += 1
        bytes += cost
        condition.unlock()
        DispatchQueue.global().async { [self] in
            work()
            condition.lock()
            inFlight -= 1
            bytes -= cost
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Returns once every submitted request has finished.
    func waitForAll() {
        condition.lock()
        while inFlight > 0 { condition.wait() }
        condition.unlock()
    }
}
