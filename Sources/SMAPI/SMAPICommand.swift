/// Every SMAPIv1 command: the method name of the toolstack's `methodCall` and the `command`
/// member of its one struct parameter (SMAPI.md §1.5; xcp-ng/sm `drivers/SRCommand.py`).
public enum SMAPICommand: String, CaseIterable, Hashable, Sendable {
    case srGetDriverInfo = "sr_get_driver_info"
    case srCreate = "sr_create"
    case srDelete = "sr_delete"
    case srAttach = "sr_attach"
    case srDetach = "sr_detach"
    case srScan = "sr_scan"
    case srProbe = "sr_probe"
    case srUpdate = "sr_update"
    case srContentType = "sr_content_type"
    case vdiCreate = "vdi_create"
    case vdiDelete = "vdi_delete"
    case vdiUpdate = "vdi_update"
    case vdiIntroduce = "vdi_introduce"
    case vdiAttach = "vdi_attach"
    case vdiDetach = "vdi_detach"
    case vdiActivate = "vdi_activate"
    case vdiDeactivate = "vdi_deactivate"
    case vdiSnapshot = "vdi_snapshot"
    case vdiClone = "vdi_clone"
    case vdiResize = "vdi_resize"
    case vdiResizeOnline = "vdi_resize_online"
    case vdiGenerateConfig = "vdi_generate_config"
    case vdiAttachFromConfig = "vdi_attach_from_config"
    case vdiDetachFromConfig = "vdi_detach_from_config"
    case vdiCompose = "vdi_compose"
    case vdiEpochBegin = "vdi_epoch_begin"
    case vdiEpochEnd = "vdi_epoch_end"
    /// Beyond the reference, whose `SRCommand` lacks it: `vdi_uuid` names the snapshot, the
    /// one argument the VDI whose content becomes the snapshot's (xapi design "Improving
    /// snapshot revert behaviour").
    case vdiRevert = "vdi_revert"
    case vdiEnableCBT = "vdi_enable_cbt"
    case vdiDisableCBT = "vdi_disable_cbt"
    case vdiDataDestroy = "vdi_data_destroy"
    case vdiListChangedBlocks = "vdi_list_changed_blocks"

    /// False for the changed-block-tracking commands, which this SM knows but does not
    /// implement (it does not advertise `VDI_CONFIG_CBT`); the dispatcher answers them with
    /// `Unimplemented` (38).
    public var isImplemented: Bool {
        switch self {
        case .vdiEnableCBT, .vdiDisableCBT, .vdiDataDestroy, .vdiListChangedBlocks: false
        default: true
        }
    }

    /// The names of the positional `args` the command takes, in order (SMAPI.md §1.5).
    public var argumentNames: [String] {
        switch self {
        case .srCreate: ["size"]
        case .vdiCreate:
            [
                "size", "name_label", "name_description", "metadata_of_pool", "is_a_snapshot", "snapshot_time",
                "snapshot_of", "read_only",
            ]
        case .vdiAttach, .vdiActivate: ["writable"]
        case .vdiResize, .vdiResizeOnline: ["new_size"]
        case .vdiCompose: ["vdi1_ref"]
        case .vdiRevert: ["target_vdi_ref"]
        case .vdiListChangedBlocks: ["vdi_to_ref"]
        default: []
        }
    }

    /// Whether the command acts on a VDI named by `vdi_uuid` (SM's `NEEDS_VDI_OBJECT`, less
    /// `vdi_create`, whose uuid is optional, plus `vdi_revert`).
    public var requiresVDIUUID: Bool {
        switch self {
        case .srGetDriverInfo, .srCreate, .srDelete, .srAttach, .srDetach, .srScan, .srProbe, .srUpdate,
            .srContentType, .vdiCreate, .vdiIntroduce:
            false
        default: true
        }
    }

    /// Whether the command acts on an SR named by `sr_uuid`: all but `sr_get_driver_info` and
    /// `sr_probe`.
    public var requiresSRUUID: Bool { self != .srGetDriverInfo && self != .srProbe }

    /// Whether xapi sends the command only to the SR master (`sm.ml` `srmaster_only`, and
    /// `sr_scan`), marked "M" in SMAPI.md §1.5.
    public var isSRMasterOnly: Bool {
        switch self {
        case .srScan, .vdiCreate, .vdiDelete, .vdiSnapshot, .vdiClone, .vdiResize, .vdiResizeOnline, .vdiCompose,
            .vdiEnableCBT, .vdiDisableCBT, .vdiDataDestroy, .vdiListChangedBlocks:
            true
        default: false
        }
    }
}
