/// The names the engine gives the volumes of an operation in progress, the same in every
/// container (VDI volumes themselves are named by the container: `VDIVolumeNaming`).
public enum VolumeNaming {
    /// The volume a parent locator names: its last path component (`./<name>` → `<name>`).
    public static func volume(ofLocator reference: String) -> String {
        reference.split(separator: "/").last.map(String.init) ?? reference
    }

    /// The volume that holds an SR's records where the container has no files for them
    /// (`VolumeRecordMedium`): never a VDI's name in any naming.
    public static let records = "swift-sm-records"

    /// Where an operation writes a volume before it takes `volume`'s name (`<volume>.new`).
    public static func staging(_ volume: String) -> String { volume + ".new" }

    /// The name a revert keeps the old leaf under until it commits (`<volume>.old`).
    public static func previous(_ volume: String) -> String { volume + ".old" }

    /// The name a VDI's volume takes when its destroy is committed (`<volume>.destroy`): it
    /// stays, emptied, until the record's removal is saved.
    public static func destroying(_ volume: String) -> String { volume + ".destroy" }

    /// The VDI volume a destroy marker stands for.
    public static func volume(ofDestroying name: String) -> String? {
        name.hasSuffix(".destroy") ? String(name.dropLast(".destroy".count)) : nil
    }

    /// Whether `name` is what an interrupted operation leaves and nothing refers to once every
    /// intent is recovered: a staging or previous volume, or a temporary file of a record write.
    public static func isLeftover(_ name: String) -> Bool {
        name.hasSuffix(".new") || name.hasSuffix(".old") || name.contains(DurableFile.temporaryMarker)
            || (SpareLeaves.isSpare(name) && name.hasSuffix(".tmp"))
    }
}
