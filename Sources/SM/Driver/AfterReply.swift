import Synchronization

/// Spare leaves to make for an SR once the caller has its reply (`SpareLeaves`).
public struct SpareUpkeep: Hashable, Sendable {
    /// How the upkeep process opens the SR again, through its driver.
    public var descriptor: SRDescriptor
    /// The VDI sizes whose leaf capacities want spares.
    public var sizes: [UInt64]

    public init(descriptor: SRDescriptor, sizes: [UInt64]) {
        self.descriptor = descriptor
        self.sizes = sizes
    }
}

/// Upkeep an operation leaves that no caller should wait for: making the spare leaves the next
/// snapshot will take. The toolstack waits for the plugin process to exit, not just for its
/// reply, so the fronts hand the upkeep to a detached `sm sr-upkeep` process, which opens the
/// SR through its driver from the descriptor it is given; upkeep never done costs only speed
/// (a snapshot without spares makes its leaves whole).
public enum AfterReply {
    private static let queue = Mutex<[SpareUpkeep]>([])

    /// Asks for spares for a VDI of `size` in the engine's SR, when its volumes grow on write
    /// (spares are empty leaves; on fixed-size volumes each would hold a whole VDI's space) and
    /// the engine knows how to open the SR again.
    public static func scheduleSpares(_ engine: SREngine, size: UInt64) {
        guard engine.container.provisioning == .growOnWrite, let descriptor = engine.descriptor else { return }
        queue.withLock { queue in
            if let index = queue.firstIndex(where: { $0.descriptor == descriptor }) {
                if !queue[index].sizes.contains(size) { queue[index].sizes.append(size) }
            } else {
                queue.append(SpareUpkeep(descriptor: descriptor, sizes: [size]))
            }
        }
    }

    /// The upkeep asked for so far, one entry per SR, and forgets it.
    public static func take() -> [SpareUpkeep] {
        queue.withLock { queue in
            defer { queue.removeAll() }
            return queue
        }
    }
}
