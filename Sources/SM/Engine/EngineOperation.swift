/// What an engine intent records, typed: each multi-step operation with the parameters its
/// recovery needs. An intent is stored as a kind and string parameters (`Intent`); this is the
/// one place that reads and writes that form, so recovery switches over operations, never over
/// strings, and a record it cannot read as one is kept and reported, never acted on.
enum EngineOperation: Equatable {
    /// A snapshot or clone: the base copy's uuid, the new VDI's (none for a single snapshot).
    case snapshot(base: String, clone: String?, type: SREngine.SnapshotType, isClone: Bool, now: String)
    /// A revert to `snapshot`, whose content is in VDI `target`.
    case revert(snapshot: String, target: String)
    /// A replacement of the VDI's content (an import into it).
    case replace
    /// A new VDI's volume, written under its staging name.
    case create(volume: String)
    /// A resize to `size` bytes.
    case resize(size: UInt64)
    /// The collector's copy of a hidden VDI's blocks into its parent `parent` (the reference's
    /// `coalesce` journal).
    case coalesce(parent: String)
    /// The collector's relink of a coalesced VDI's children to its parent `parent`, after which
    /// the VDI is removed (the reference's `relink` journal).
    case relink(parent: String)
    /// A leaf coalesce: the VDI's blocks go into its parent `parent`, which then takes the VDI's
    /// name and record (the reference's `leaf` journal).
    case leafCoalesce(parent: String)

    /// Whether the collector owns the operation: while a collector runs, its intents are live
    /// work (a copy runs without the SR lock), never an interrupted operation to recover.
    var isCollectors: Bool {
        switch self {
        case .coalesce, .relink, .leafCoalesce: true
        case .snapshot, .revert, .replace, .create, .resize: false
        }
    }

    /// The stored kind.
    var kind: String {
        switch self {
        case .snapshot: "snapshot"
        case .revert: "revert"
        case .replace: "replace"
        case .create: "create"
        case .resize: "resize"
        case .coalesce: "coalesce"
        case .relink: "relink"
        case .leafCoalesce: "leaf"
        }
    }

    /// The stored parameters.
    var parameters: [String: String] {
        switch self {
        case .snapshot(let base, let clone, let type, let isClone, let now):
            ["base": base, "clone": clone ?? "", "type": type.rawValue, "isClone": isClone ? "true" : "false", "now": now]
        case .revert(let snapshot, let target): ["snapshot": snapshot, "target": target]
        case .replace: [:]
        case .create(let volume): ["volume": volume]
        case .resize(let size): ["size": String(size)]
        case .coalesce(let parent), .relink(let parent), .leafCoalesce(let parent): ["parent": parent]
        }
    }

    /// The operation `intent` records; nil for a kind this version does not know or
    /// parameters it cannot use.
    init?(_ intent: Intent, naming: VDIVolumeNaming) {
        let parameters = intent.parameters
        switch intent.kind {
        case "snapshot":
            guard let base = parameters["base"], Identifier.isUUID(base),
                let type = SREngine.SnapshotType(rawValue: parameters["type"] ?? "double")
            else { return nil }
            let clone = parameters["clone"].flatMap { $0.isEmpty ? nil : $0 }
            if let clone, !Identifier.isUUID(clone) { return nil }
            self = .snapshot(
                base: base, clone: clone, type: type, isClone: parameters["isClone"] == "true",
                now: parameters["now"] ?? VDIRecord.neverSnapshotted)
        case "revert":
            self = .revert(snapshot: parameters["snapshot"] ?? "", target: parameters["target"] ?? "")
        case "replace":
            self = .replace
        case "create":
            guard let volume = parameters["volume"], naming.vdi(of: volume)?.uuid == intent.vdiUUID else { return nil }
            self = .create(volume: volume)
        case "resize":
            guard let size = parameters["size"].flatMap(UInt64.init) else { return nil }
            self = .resize(size: size)
        case "coalesce", "relink", "leaf":
            guard let parent = parameters["parent"], Identifier.isUUID(parent), parent != intent.vdiUUID else { return nil }
            switch intent.kind {
            case "coalesce": self = .coalesce(parent: parent)
            case "relink": self = .relink(parent: parent)
            default: self = .leafCoalesce(parent: parent)
            }
        default:
            return nil
        }
    }
}
