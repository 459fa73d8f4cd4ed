/// What the collector would do to an SR now, by the reference's rules (`cleanup.py`), from a
/// `VHDTree` and the SR's records and settings.
public struct CollectorPlan: Sendable {
    /// A coalesce of `child` into `parent`.
    public struct Coalesce: Sendable, Equatable {
        public var child: String
        public var parent: String
        /// The height of the tree it shortens: the tallest go first.
        public var height: Int
    }

    /// Hidden VDIs nothing reads through, children before parents: each is a leaf when its
    /// turn to be deleted comes.
    public private(set) var garbage: [String] = []
    /// The bytes the garbage's volumes take.
    public private(set) var garbageBytes: UInt64 = 0
    /// Hidden VDIs that are their parent's only child and have children, tallest trees first.
    public private(set) var coalescable: [Coalesce] = []
    /// Visible leaves that are their hidden parent's only child, tallest trees first.
    public private(set) var leafCoalescable: [Coalesce] = []
    public let deepestChain: Int
    /// Why trees are left alone.
    public let refusedTrees: [String]

    /// The plan for `tree`; VDIs named in `busy` (those an unfinished collector intent is
    /// about) are left for their intent's recovery.
    public init(tree: VHDTree, engine: SREngine, settings: CollectorSettings, busy: Set<String> = []) {
        deepestChain = tree.deepestChain
        refusedTrees = tree.refusedTrees
        let records = engine.metadata.vdis
        let usable = tree.nodes.values.filter { tree.refusal(of: $0.uuid) == nil && !busy.contains($0.uuid) }
        var isGarbage: [String: Bool] = [:]
        func garbage(_ uuid: String) -> Bool {
            if let known = isGarbage[uuid] { return known }
            guard let node = tree.nodes[uuid] else { return false }
            let result = node.hidden && !busy.contains(uuid) && node.children.allSatisfy(garbage)
            isGarbage[uuid] = result
            return result
        }
        for root in usable where root.parent == nil {
            for uuid in tree.subtree(root.uuid).reversed() where garbage(uuid) {
                self.garbage.append(uuid)
                garbageBytes += tree.nodes[uuid]?.volumeSize ?? 0
            }
        }
        guard settings.coalesce else { return }
        for node in usable where !isGarbage[node.uuid, default: false] {
            guard let parentUUID = node.parent, let parent = tree.nodes[parentUUID], node.isVHD, parent.isVHD,
                parent.hidden, parent.children == [node.uuid], !busy.contains(parentUUID)
            else { continue }
            let job = Coalesce(child: node.uuid, parent: parentUUID, height: tree.height(tree.root(of: node.uuid)))
            if node.hidden {
                if !node.children.isEmpty { coalescable.append(job) }
            } else if node.children.isEmpty, settings.leafCoalesce, let record = records[node.uuid],
                record.onBoot != .reset, record.otherConfig["leaf-coalesce"] != "false",
                record.smConfig["leaf-coalesce"] != "false"
            {
                leafCoalescable.append(job)
            }
        }
        let order: (Coalesce, Coalesce) -> Bool = { ($0.height, $1.child) > ($1.height, $0.child) }
        coalescable.sort(by: order)
        leafCoalescable.sort(by: order)
    }

    /// Whether there is anything to do.
    public var hasWork: Bool { !garbage.isEmpty || !coalescable.isEmpty || !leafCoalescable.isEmpty }
}
