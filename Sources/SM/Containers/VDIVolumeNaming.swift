/// How a container names the volume of a VDI: the reference's file SRs use `<uuid>.vhd` and
/// `<uuid>.raw`, its LVHD SRs `VHD-<uuid>` and `LV-<uuid>` (`lvhdutil.LV_PREFIX`).
public struct VDIVolumeNaming: Hashable, Sendable {
    public var vhdPrefix: String
    public var vhdSuffix: String
    public var rawPrefix: String
    public var rawSuffix: String

    public init(vhdPrefix: String, vhdSuffix: String, rawPrefix: String, rawSuffix: String) {
        self.vhdPrefix = vhdPrefix
        self.vhdSuffix = vhdSuffix
        self.rawPrefix = rawPrefix
        self.rawSuffix = rawSuffix
    }

    /// `<uuid>.vhd` and `<uuid>.raw` (ext, nfs).
    public static let files = VDIVolumeNaming(vhdPrefix: "", vhdSuffix: ".vhd", rawPrefix: "", rawSuffix: ".raw")
    /// `VHD-<uuid>` and `LV-<uuid>` (lvm, lvmoiscsi).
    public static let logicalVolumes = VDIVolumeNaming(vhdPrefix: "VHD-", vhdSuffix: "", rawPrefix: "LV-", rawSuffix: "")

    public func volume(for uuid: String, type: VDIRecord.VolumeType) -> String {
        type == .vhd ? vhdPrefix + uuid + vhdSuffix : rawPrefix + uuid + rawSuffix
    }

    /// The VDI uuid and type a volume name stands for; nil for anything else in the container.
    public func vdi(of volume: String) -> (uuid: String, type: VDIRecord.VolumeType)? {
        for (prefix, suffix, type) in [(vhdPrefix, vhdSuffix, VDIRecord.VolumeType.vhd), (rawPrefix, rawSuffix, .raw)]
        where volume.hasPrefix(prefix) && volume.hasSuffix(suffix) && volume.count > prefix.count + suffix.count {
            let uuid = String(volume.dropFirst(prefix.count).dropLast(suffix.count))
            if Identifier.isUUID(uuid) { return (uuid, type) }
        }
        return nil
    }
}
