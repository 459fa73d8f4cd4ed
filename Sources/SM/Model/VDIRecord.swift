/// Everything an SR records about one VDI (the SMAPIv1 VDI fields a toolstack mirrors), kept
/// inside the SR itself so the SR describes itself on any host.
public struct VDIRecord: Codable, Hashable, Sendable {
    /// How the VDI's data is stored: a VHD (thin, copy-on-write) or a raw volume.
    public enum VolumeType: String, Codable, Sendable {
        case vhd
        case raw
    }

    /// What a VDI does at the start of each boot epoch (SMAPI `vdi_on_boot`).
    public enum OnBoot: String, Codable, Sendable {
        case persist
        case reset
    }

    public var uuid: String
    public var nameLabel: String
    public var nameDescription: String
    /// The xapi VDI type (`user`, `system`, `suspend`, ...).
    public var type: String
    public var volumeType: VolumeType
    /// The size the guest sees, in bytes.
    public var virtualSize: UInt64
    /// The bytes the VDI's own volume occupies.
    public var physicalUtilisation: UInt64
    public var readOnly: Bool
    /// False for base copies: the SR manages them, users never see them.
    public var managed: Bool
    /// A non-leaf node of a snapshot tree (blktap's footer `hidden` flag).
    public var hidden: Bool
    public var isASnapshot: Bool
    /// The uuid of the VDI this is a snapshot of, empty when none.
    public var snapshotOf: String
    /// ISO 8601 basic form as xapi uses it (`19700101T00:00:00Z` when never snapshotted).
    public var snapshotTime: String
    public var smConfig: [String: String]
    public var otherConfig: [String: String]
    public var onBoot: OnBoot
    /// The uuid of the VHD parent, empty for a root.
    public var parent: String

    public init(
        uuid: String, nameLabel: String = "", nameDescription: String = "", type: String = "user",
        volumeType: VolumeType = .vhd, virtualSize: UInt64, physicalUtilisation: UInt64 = 0, readOnly: Bool = false,
        managed: Bool = true, hidden: Bool = false, isASnapshot: Bool = false, snapshotOf: String = "",
        snapshotTime: String = VDIRecord.neverSnapshotted, smConfig: [String: String] = [:],
        otherConfig: [String: String] = [:], onBoot: OnBoot = .persist, parent: String = ""
    ) {
        self.uuid = uuid
        self.nameLabel = nameLabel
        self.nameDescription = nameDescription
        self.type = type
        self.volumeType = volumeType
        self.virtualSize = virtualSize
        self.physicalUtilisation = physicalUtilisation
        self.readOnly = readOnly
        self.managed = managed
        self.hidden = hidden
        self.isASnapshot = isASnapshot
        self.snapshotOf = snapshotOf
        self.snapshotTime = snapshotTime
        self.smConfig = smConfig
        self.otherConfig = otherConfig
        self.onBoot = onBoot
        self.parent = parent
    }

    /// xapi's "never" for `snapshot_time`.
    public static let neverSnapshotted = "19700101T00:00:00Z"

    /// The VDI's location: its uuid, for every driver of this SM.
    public var location: String { uuid }
}
