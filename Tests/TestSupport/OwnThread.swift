import Foundation

/// Runs blocking `body` (a subprocess waited for, a socket read) on a thread of its own and
/// awaits its result, so a test never holds one of the few threads of the shared concurrency
/// pool while it waits.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
