import Foundation

/// Runs `body` on a thread of its own and returns (or throws) what it did.
///
/// swift-testing runs tests on a small shared pool (two threads on a two-core machine); a test
/// that spends minutes spawning, waiting for and killing processes does it here instead, so it
/// never holds a pool thread while it waits.
func onDedicatedThread<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }
}
