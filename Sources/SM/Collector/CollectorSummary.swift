/// What one run of the collector did, for its caller's report (`sm sr-gc`, `--json`).
public struct CollectorSummary: Codable, Sendable, Equatable {
    /// How long one leaf coalesce held its VDI's consumer paused.
    public struct Pause: Codable, Sendable, Equatable {
        public var vdi: String
        public var milliseconds: Double
    }

    /// Hidden VDIs deleted as garbage.
    public var garbageDeleted = 0
    /// Hidden VDIs coalesced into their parents and removed.
    public var nodesCoalesced = 0
    /// Visible leaves coalesced into their parents (each VDI one link shorter).
    public var leavesCoalesced = 0
    /// The SR's free space after the run less before it.
    public var bytesReclaimed: UInt64 = 0
    public var seconds: Double = 0
    /// Whether the run ended on an abort.
    public var aborted = false
    /// Whether the SR's `gc=false` kept the collector from running.
    public var disabled = false
    /// The trees left alone, with why.
    public var skipped: [String] = []
    /// The coalesces that failed, the VDIs named (the SR stays as it was).
    public var failures: [String] = []
    /// The pause of each coalesce of an active leaf.
    public var pauses: [Pause] = []

    public init() {}
}

/// What the collector is doing, for progress on a terminal.
public struct CollectorProgress: Sendable, Equatable {
    public enum Step: String, Sendable {
        case deleting = "deleting garbage"
        case coalescing
        case relinking
        case leafCoalescing = "coalescing leaf"
        case snapshotting = "snapshotting leaf"
    }

    public var step: Step
    /// The VDI the step is on (the child of a coalesce).
    public var vdi: String
    /// The VDI it goes into, for a coalesce.
    public var parent: String?
    /// How much of the step is done, when it is measured.
    public var fraction: Double?
}
