import Synchronization

/// What the collector needs of the host it runs on: the SR lock for its short turns, whether
/// it was asked to stop, and the consumers to pause while a chain they read changes.
public protocol CollectorEnvironment: Sendable {
    /// Runs `body` holding the SR lock, after `engine.reload()` (other processes changed the SR
    /// between the collector's turns).
    func exclusive<T>(_ engine: SREngine, _ body: () throws(SRError) -> T) throws(SRError) -> T
    /// Whether the collector was asked to stop (`sr_detach`, `sr_delete`, `sm sr-gc --abort`).
    var abortRequested: Bool { get }
    /// The VDIs of the SR a consumer on this host is reading or writing now.
    func activeVDIs(_ engine: SREngine) -> Set<String>
    /// Quiesces the consumer of VDI `uuid`: no request in flight, none started.
    func pause(_ engine: SREngine, _ uuid: String) throws(SRError)
    /// Lets the consumer of VDI `uuid` go on, over its chain opened afresh.
    func resume(_ engine: SREngine, _ uuid: String) throws(SRError)
}

/// The collector over an engine alone, with no other process and no consumers: for an SR
/// opened on a bare container (tests, tools). Abort is asked through `abort()`.
public final class StandaloneCollectorEnvironment: CollectorEnvironment {
    private let stopping = Atomic<Bool>(false)

    public init() {}

    public func exclusive<T>(_ engine: SREngine, _ body: () throws(SRError) -> T) throws(SRError) -> T {
        try engine.reload()
        return try body()
    }

    public var abortRequested: Bool { stopping.load(ordering: .relaxed) }
    public func abort() { stopping.store(true, ordering: .relaxed) }
    public func activeVDIs(_ engine: SREngine) -> Set<String> { [] }
    public func pause(_ engine: SREngine, _ uuid: String) throws(SRError) {}
    public func resume(_ engine: SREngine, _ uuid: String) throws(SRError) {}
}
