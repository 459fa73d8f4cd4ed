/// What an SR records about itself.
public struct SRRecord: Codable, Hashable, Sendable {
    public var uuid: String
    public var nameLabel: String
    public var nameDescription: String
    /// The driver type (`ext`, `nfs`, `lvm`, `lvmoiscsi`).
    public var type: String
    public var smConfig: [String: String]
    public var otherConfig: [String: String]

    public init(
        uuid: String, nameLabel: String = "", nameDescription: String = "", type: String,
        smConfig: [String: String] = [:], otherConfig: [String: String] = [:]
    ) {
        self.uuid = uuid
        self.nameLabel = nameLabel
        self.nameDescription = nameDescription
        self.type = type
        self.smConfig = smConfig
        self.otherConfig = otherConfig
    }
}

/// An SR's self-description: its own record and every VDI's, as stored inside the SR.
public struct SRMetadata: Codable, Hashable, Sendable {
    /// Bumped on every incompatible change of this layout.
    public static let currentVersion = 1

    public var version: Int
    public var sr: SRRecord
    /// VDI records by uuid.
    public var vdis: [String: VDIRecord]
    /// The intents whose commit point this metadata is: the save that wrote them here is what
    /// made their operation happen, so recovery rolls them forward; any other pending intent
    /// is rolled back. Pruned by the next save once their intent is gone.
    public var committedIntents: Set<String>

    public init(sr: SRRecord, vdis: [String: VDIRecord] = [:], committedIntents: Set<String> = []) {
        self.version = SRMetadata.currentVersion
        self.sr = sr
        self.vdis = vdis
        self.committedIntents = committedIntents
    }

    private enum CodingKeys: String, CodingKey {
        case version, sr, vdis, committedIntents
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        sr = try container.decode(SRRecord.self, forKey: .sr)
        vdis = try container.decode([String: VDIRecord].self, forKey: .vdis)
        committedIntents = try container.decodeIfPresent(Set<String>.self, forKey: .committedIntents) ?? []
    }

    /// Sorted, and left out when empty, so equal metadata is equal bytes.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(sr, forKey: .sr)
        try container.encode(vdis, forKey: .vdis)
        if !committedIntents.isEmpty { try container.encode(committedIntents.sorted(), forKey: .committedIntents) }
    }
}
