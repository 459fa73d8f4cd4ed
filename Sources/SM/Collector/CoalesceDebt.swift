/// How far an SR is behind its collector (`sm sr-gc --status`, `sm sr-list`): what a run
/// would reclaim and shorten now.
public struct CoalesceDebt: Codable, Sendable, Equatable {
    /// The bytes garbage VDIs take.
    public var garbageBytes: UInt64
    public var garbageVDIs: Int
    /// Hidden VDIs and leaves a coalesce would remove from their chains.
    public var coalescableNodes: Int
    /// The longest chain of VHDs a read goes through.
    public var deepestChain: Int
    /// The trees the collector leaves alone, with why.
    public var refusedTrees: [String]

    /// The debt of `engine`'s SR as it is now.
    public init(engine: SREngine) {
        let tree = VHDTree(engine: engine)
        let plan = CollectorPlan(tree: tree, engine: engine, settings: CollectorSettings(sr: engine.sr))
        garbageBytes = plan.garbageBytes
        garbageVDIs = plan.garbage.count
        coalescableNodes = plan.coalescable.count + plan.leafCoalescable.count
        deepestChain = plan.deepestChain
        refusedTrees = plan.refusedTrees
    }
}
