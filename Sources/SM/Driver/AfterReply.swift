import Synchronization

/// Work a front runs once its caller has the reply: the upkeep an operation leaves behind that
/// no caller should wait for (making the spare leaves the next snapshot will take). The SMAPI
/// plugin runs it after writing its reply and closing standard output, the CLI after printing;
/// work never run costs only speed (a snapshot without spares makes its leaves whole).
public enum AfterReply {
    private static let queue = Mutex<[@Sendable () -> Void]>([])

    /// Adds `work` to what `run()` does next.
    public static func schedule(_ work: @escaping @Sendable () -> Void) {
        queue.withLock { $0.append(work) }
    }

    /// Runs the scheduled work in order, each piece once.
    public static func run() {
        while let work = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { work() }
    }

    /// Drops the scheduled work unrun.
    public static func discard() {
        queue.withLock { $0.removeAll() }
    }
}
