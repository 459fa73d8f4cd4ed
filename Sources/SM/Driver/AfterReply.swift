import Synchronization

/// Spare leaves to make for an SR once the caller has its reply (`SpareLeaves`).
public struct SpareUpkeep: Hashable, Sendable {
    public var srUUID: String
    /// The SR's directory: the container a process started afresh can find without the
    /// SR's device-config.
    public var directory: String
    /// The VDI sizes whose leaf capacities want spares.
    public var sizes: [UInt64]

    public init(srUUID: String, directory: String, sizes: [UInt64]) {
        self.srUUID = srUUID
        self.directory = directory
        self.sizes = sizes
    }
}

/// Upkeep an operation leaves that no caller should wait for: making the spare leaves the next
/// snapshot will take. The toolstack waits for the plugin process to exit, not just for its
/// reply, so the fronts hand the upkeep to a detached `sm sr-upkeep` process; upkeep never done
/// costs only speed (a snapshot without spares makes its leaves whole).
public enum AfterReply {
    private static let queue = Mutex<[SpareUpkeep]>([])

    /// Asks for spares for a VDI of `size` in `container`, when it is a directory; other
    /// containers keep making their leaves whole.
    public static func scheduleSpares(srUUID: String, container: any VolumeContainer, size: UInt64) {
        guard let files = container as? FileVolumeContainer else { return }
        queue.withLock { queue in
            if let index = queue.firstIndex(where: { $0.srUUID == srUUID && $0.directory == files.directory }) {
                if !queue[index].sizes.contains(size) { queue[index].sizes.append(size) }
            } else {
                queue.append(SpareUpkeep(srUUID: srUUID, directory: files.directory, sizes: [size]))
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
