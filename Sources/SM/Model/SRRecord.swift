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

    public init(sr: SRRecord, vdis: [String: VDIRecord] = [:]) {
        self.version = SRMetadata.currentVersion
        self.sr = sr
        self.vdis = vdis
    }
}
