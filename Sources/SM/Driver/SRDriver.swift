/// An SR's storage as the engine needs it: the namespace of volumes, and where the SR keeps its
/// own metadata and intent journal.
public struct SRStorage: Sendable {
    public var container: any VolumeContainer
    public var metadataStore: SRMetadataStore
    public var journal: IntentJournal

    public init(container: any VolumeContainer, metadataStore: SRMetadataStore, journal: IntentJournal) {
        self.container = container
        self.metadataStore = metadataStore
        self.journal = journal
    }

    /// The SR whose metadata and journal are on the records `container` provides.
    public init(container: any VolumeContainer) {
        self.init(
            container: container, metadataStore: SRMetadataStore(medium: RecordMetadataMedium(records: container.records)),
            journal: IntentJournal(records: container.records))
    }

    /// A file SR in `directory`: the VDI files, `sm-metadata.json` and the `.intent-*` journal
    /// records side by side (the ext and nfs layout).
    public static func directory(_ directory: String) -> SRStorage {
        SRStorage(
            container: FileVolumeContainer(directory: directory),
            metadataStore: SRMetadataStore(medium: FileMetadataMedium(directory: directory)),
            journal: IntentJournal(directory: directory))
    }
}

/// A storage driver: the part of an SR type that is not the generic engine. It names itself,
/// reads its `device-config`, finds SRs on storage (probe), and makes an SR's storage
/// available on this host (create, attach, detach, delete). Everything else (VDIs, snapshots,
/// scan) is the one `SREngine` over the `SRStorage` a driver returns.
///
/// Device configs are the PBD's `device-config` map as the toolstack sends it; drivers ignore
/// keys they do not know (xapi adds `SRmaster`). Every method throws `SRError` with the
/// reference's catalogue codes (a missing key is the driver's `Config…Missing` code).
public protocol SRDriver: Sendable {
    /// The SR type as xapi registers it: the lower-cased `<Type>` of `<Type>SR` (`ext`).
    var typeName: String { get }
    /// SM's `DRIVER_INFO`.
    var info: DriverInfo { get }
    /// What `sr_content_type` answers (`vhd`).
    var contentType: String { get }

    /// The SRs found on the storage `deviceConfig` names, as the reference's probe XML
    /// (`<SRlist>…</SRlist>`). `smConfig` is the probe's `sr_sm_config` (`metadata=true` asks
    /// for names and descriptions too).
    func probe(deviceConfig: [String: String], smConfig: [String: String]) throws(SRError) -> String
    /// Prepares new storage for SR `srUUID` (formats a device, makes a directory) and returns it
    /// available, so the caller can write the SR's first metadata; the caller detaches after.
    func create(srUUID: String, deviceConfig: [String: String]) throws(SRError) -> SRStorage
    /// Makes an existing SR available on this host (mounts it); attaching twice is harmless.
    func attach(srUUID: String, deviceConfig: [String: String]) throws(SRError) -> SRStorage
    /// The storage of an SR that is attached; `SRUnavailable` when it is not.
    func storage(srUUID: String, deviceConfig: [String: String]) throws(SRError) -> SRStorage
    /// Makes the SR unavailable on this host (unmounts it); detaching twice is harmless.
    func detach(srUUID: String, deviceConfig: [String: String]) throws(SRError)
    /// Destroys an SR the caller found empty: removes what is left of it (metadata, journal,
    /// directory, file system signature). The SR is attached when this is called.
    func delete(srUUID: String, deviceConfig: [String: String]) throws(SRError)
}

extension SRDriver {
    public var contentType: String { "vhd" }

    /// The `<Type>SR` name xapi executes the driver as: `ext` → `EXTSR`, `lvmoiscsi` →
    /// `LVMoISCSISR` (the reference's spellings).
    public var pluginName: String { SRDriverNames.pluginName(forType: typeName) }
}

/// The reference's spellings of plugin executables.
public enum SRDriverNames {
    /// `<Type>SR` for an SR type: upper case, except the reference's `LVMoISCSI`.
    public static func pluginName(forType type: String) -> String {
        switch type {
        case "lvmoiscsi": return "LVMoISCSISR"
        case "lvmohba": return "LVMoHBASR"
        default: return type.uppercased() + "SR"
        }
    }

    /// The SR type a plugin executable's file name stands for (`EXTSR` → `ext`), or nil when the
    /// name does not end in `SR`.
    public static func type(forPluginName name: String) -> String? {
        guard name.hasSuffix("SR"), name.count > 2 else { return nil }
        return String(name.dropLast(2)).lowercased()
    }
}
