import Synchronization

/// What to do for an SR once the caller has its reply: spare leaves to make (`SpareLeaves`),
/// and whether to run the garbage collector.
public struct Upkeep: Hashable, Sendable {
    /// How the upkeep process opens the SR again, through its driver.
    public var descriptor: SRDescriptor
    /// The VDI sizes whose leaf capacities want spares.
    public var sizes: [UInt64]
    /// Whether the SR's collector is kicked.
    public var collect: Bool

    public init(descriptor: SRDescriptor, sizes: [UInt64] = [], collect: Bool = false) {
        self.descriptor = descriptor
        self.sizes = sizes
        self.collect = collect
    }
}

/// Upkeep an operation leaves that no caller should wait for: making the spare leaves the next
/// snapshot will take, and collecting the garbage a delete, scan, snapshot or clone left. The toolstack waits for the plugin process to exit, not just for its
/// reply, so the fronts hand the upkeep to a detached `sm sr-upkeep` process, which opens the
/// SR through its driver from the descriptor it is given; upkeep never done costs only speed
/// (a snapshot without spares makes its leaves whole).
public enum AfterReply {
    private static let queue = Mutex<[Upkeep]>([])

    /// Asks for spares for a VDI of `size` in the engine's SR, when its volumes grow on write
    /// (spares are empty leaves; on fixed-size volumes each would hold a whole VDI's space) and
    /// the engine knows how to open the SR again.
    public static func scheduleSpares(_ engine: SREngine, size: UInt64) {
        guard engine.container.provisioning == .growOnWrite else { return }
        schedule(engine) { if !$0.sizes.contains(size) { $0.sizes.append(size) } }
    }

    /// Asks for a run of the engine's SR's garbage collector.
    public static func scheduleCollection(_ engine: SREngine) {
        schedule(engine) { $0.collect = true }
    }

    private static func schedule(_ engine: SREngine, _ change: (inout Upkeep) -> Void) {
        guard let descriptor = engine.descriptor else { return }
        queue.withLock { queue in
            if let index = queue.firstIndex(where: { $0.descriptor == descriptor }) {
                change(&queue[index])
            } else {
                var upkeep = Upkeep(descriptor: descriptor)
                change(&upkeep)
                queue.append(upkeep)
            }
        }
    }

    /// The upkeep asked for so far, one entry per SR, and forgets it.
    public static func take() -> [Upkeep] {
        queue.withLock { queue in
            defer { queue.removeAll() }
            return queue
        }
    }
}
