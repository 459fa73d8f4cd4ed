import BlockIO
import VHD
import VHDFormat

/// The SR's VDIs as the collector sees them (the reference's `SR._buildTree`): every recorded
/// VDI with its parent as its VHD's own header names it, so the tree is what readers really
/// read through, whatever the records say. Trees the collector must not touch are marked with
/// why: a VHD that cannot be read, a parent that is missing, parent locators that loop, a
/// visible VDI that other VDIs read through (a base copy made visible again).
public struct VHDTree: Sendable {
    /// One VDI in the tree.
    public struct Node: Sendable, Equatable {
        public var uuid: String
        public var volume: String
        public var isVHD: Bool
        /// The VHD's hidden flag (a base copy, or garbage when it has no children).
        public var hidden: Bool
        /// The parent VDI, nil for a root.
        public var parent: String?
        public var children: [String] = []
        public var virtualSize: UInt64
        /// The bytes its volume takes.
        public var volumeSize: UInt64
    }

    public private(set) var nodes: [String: Node] = [:]
    /// Why a tree is left alone, by the uuid of its root (or of a node in a loop).
    public private(set) var refusals: [String: String] = [:]
    /// The root of each node's tree; nodes in a parent loop have none.
    private var roots: [String: String] = [:]

    /// Reads the tree of `engine`'s SR: each recorded VDI's VHD footer, header and parent
    /// locator (never a BAT).
    public init(engine: SREngine) {
        let container = engine.container
        var parentVolumes: [String: String] = [:]
        for record in engine.vdis {
            let volume = container.naming.volume(for: record.uuid, type: record.volumeType)
            guard let store = try? container.open(volume, writable: false) else {
                refusals[record.uuid] = "VDI \(record.uuid): its volume \(volume) cannot be opened"
                continue
            }
            var node = Node(
                uuid: record.uuid, volume: volume, isVHD: record.volumeType == .vhd, hidden: false, parent: nil,
                virtualSize: store.size, volumeSize: store.size)
            if node.isVHD {
                do throws(VHDError) {
                    let summary = try ImageSummary.read(store: store, name: volume)
                    node.hidden = summary.isHidden
                    node.virtualSize = summary.virtualSize
                    if let reference = summary.parentReference { parentVolumes[record.uuid] = VolumeNaming.volume(ofLocator: reference) }
                } catch {
                    refusals[record.uuid] = "VDI \(record.uuid): \(error.description)"
                }
            }
            nodes[record.uuid] = node
        }
        for (uuid, parentVolume) in parentVolumes {
            if let parent = container.naming.vdi(of: parentVolume)?.uuid, nodes[parent] != nil {
                nodes[uuid]?.parent = parent
                nodes[parent]?.children.append(uuid)
            } else {
                refusals[uuid] = "VDI \(uuid): its parent \(parentVolume) is missing"
            }
        }
        for uuid in nodes.keys { nodes[uuid]?.children.sort() }
        findRoots()
        refuseVisibleParents()
    }

    /// Marks each node with its tree's root, and refuses the nodes no root reaches: their
    /// parent locators loop.
    private mutating func findRoots() {
        for root in nodes.values where root.parent == nil {
            for uuid in subtree(root.uuid) { roots[uuid] = root.uuid }
        }
        for uuid in nodes.keys.sorted() where roots[uuid] == nil && refusals[uuid] == nil {
            refusals[uuid] = "VDI \(uuid): its parent locators loop"
        }
    }

    /// A visible VDI with children is one a user made visible again after it became a base
    /// copy: coalescing into it would change what it shows, deleting it what its children read.
    private mutating func refuseVisibleParents() {
        for node in nodes.values.sorted(by: { $0.uuid < $1.uuid }) where !node.hidden && !node.children.isEmpty {
            guard let root = roots[node.uuid], refusals[root] == nil else { continue }
            refusals[root] = "VDI \(node.uuid) is visible but other VDIs read through it (a base copy made visible?)"
        }
        // A refusal anywhere in a tree covers the whole tree.
        for (uuid, reason) in refusals {
            if let root = roots[uuid], root != uuid, refusals[root] == nil { refusals[root] = reason }
        }
    }

    /// `uuid` and every node below it, parents before children; bounded, so a loop ends.
    public func subtree(_ uuid: String) -> [String] {
        var result: [String] = []
        var seen: Set<String> = []
        var stack = [uuid]
        while let next = stack.popLast(), result.count <= nodes.count {
            guard seen.insert(next).inserted, let node = nodes[next] else { continue }
            result.append(next)
            stack.append(contentsOf: node.children.reversed())
        }
        return result
    }

    /// Why the tree holding `uuid` is left alone, nil when the collector may work on it.
    public func refusal(of uuid: String) -> String? {
        guard let root = roots[uuid] else { return refusals[uuid] ?? "VDI \(uuid): its parent locators loop" }
        return refusals[root]
    }

    /// The trees left alone, one message each.
    public var refusedTrees: [String] { refusals.keys.sorted().compactMap { roots[$0] == nil || roots[$0] == $0 ? refusals[$0] : nil } }

    /// The root of the tree holding `uuid` (itself for a node in a loop).
    public func root(of uuid: String) -> String { roots[uuid] ?? uuid }

    /// The number of VHDs a read of `uuid` goes through, itself included.
    public func depth(_ uuid: String) -> Int {
        var depth = 0
        var current: String? = uuid
        while let uuid = current, let node = nodes[uuid], depth <= nodes.count {
            depth += 1
            current = node.parent
        }
        return depth
    }

    /// The deepest chain below `uuid` (the height of its subtree), itself counted.
    public func height(_ uuid: String) -> Int {
        let base = depth(uuid)
        return subtree(uuid).map { depth($0) - base + 1 }.max() ?? 1
    }

    /// The deepest chain in the SR.
    public var deepestChain: Int { nodes.keys.map(depth).max() ?? 0 }
}
