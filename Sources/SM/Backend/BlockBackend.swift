/// What a consumer (a VM's block frontend, qemu, an NBD client) is told when a VDI is attached:
/// the reply of `vdi_attach` (SMAPI.md §1.9, blktap2's `VDI.attach`).
public struct AttachInfo: Hashable, Sendable {
    /// What to open: a device or file path.
    public var params: String
    /// The same disk as an NBD URI (`nbd:unix:<socket>:exportname=<vdi>`), empty when the
    /// backend serves no NBD.
    public var paramsNBD: String
    /// Whether the consumer should open with `O_DIRECT` (xapi's default: true).
    public var oDirect: Bool
    /// Why not, when `oDirect` is false (`RO_WITH_NO_PARENT`, `SR_NOT_SUPPORTED`, …); else empty.
    public var oDirectReason: String
    /// Keys for the VBD's xenstore backend directory (`storage-type`, `vdi-type`).
    public var xenstoreData: [String: String]

    public init(
        params: String, paramsNBD: String = "", oDirect: Bool = true, oDirectReason: String = "",
        xenstoreData: [String: String] = [:]
    ) {
        self.params = params
        self.paramsNBD = paramsNBD
        self.oDirect = oDirect
        self.oDirectReason = oDirectReason
        self.xenstoreData = xenstoreData
    }
}

/// The VDI a backend is asked to serve, with everything it may need to find its data.
public struct BackendVDI: Sendable {
    public var srUUID: String
    /// The SR type (`ext`), for `xenstore_data:storage-type`.
    public var storageType: String
    public var record: VDIRecord
    public var container: any VolumeContainer
    /// How a process started afresh (the datapath daemon) opens the SR through its driver.
    public var descriptor: SRDescriptor?

    public init(
        srUUID: String, storageType: String, record: VDIRecord, container: any VolumeContainer,
        descriptor: SRDescriptor? = nil
    ) {
        self.srUUID = srUUID
        self.storageType = storageType
        self.record = record
        self.container = container
        self.descriptor = descriptor
    }

    public var uuid: String { record.uuid }
    /// The leaf's volume name, as its container names it.
    public var volume: String { container.naming.volume(for: record.uuid, type: record.volumeType) }
}

/// Where a VDI stands with a backend on this host.
public struct BackendState: Hashable, Sendable {
    public var attached = false
    /// Activated for writing (at most once per host).
    public var activeReadWrite = false
    /// How many read-only activations are outstanding.
    public var activeReadOnly = 0
    public var paused = false

    public init() {}

    public var isActive: Bool { activeReadWrite || activeReadOnly > 0 }
    /// Attached or active: the VDI must not be deleted, resized offline or reverted.
    public var isInUse: Bool { attached || isActive }
}

/// Hands VDIs to consumers, in blktap2's four steps: `attach` makes the VDI reachable and says
/// where, `activate` starts serving it (a tapdisk, an NBD export), `deactivate` and `detach`
/// undo them. `pause`/`unpause` quiesce a served VDI while its chain changes under it (a
/// snapshot, a GC relink). State is per host and outlives the process that set it (each SMAPI
/// call is a new process), so every conformer keeps it in files.
public protocol BlockBackend: Sendable {
    /// Whether `pause` really quiesces a consumer (it stops I/O and reopens the chain on
    /// `unpause`). Without it a VDI active read-write cannot have its chain changed under it
    /// (snapshot, clone, revert, offline resize): its consumer would go on writing the old leaf.
    var canPause: Bool { get }
    func attach(_ vdi: BackendVDI, writable: Bool) throws(SRError) -> AttachInfo
    func activate(_ vdi: BackendVDI, writable: Bool) throws(SRError)
    func pause(_ vdi: BackendVDI) throws(SRError)
    func unpause(_ vdi: BackendVDI) throws(SRError)
    func deactivate(_ vdi: BackendVDI) throws(SRError)
    func detach(_ vdi: BackendVDI) throws(SRError)
    /// The VDI's state on this host.
    func state(srUUID: String, vdiUUID: String) throws(SRError) -> BackendState
    /// Forgets every VDI of the SR (`sr_delete`).
    func reset(srUUID: String) throws(SRError)
    /// The VDIs of the SR marked paused on this host. SM pauses only while it holds the SR
    /// lock, so a mark found by a holder of that lock is a pause whose unpause never came (the
    /// process died, a call timed out): `SRHost` resumes those VDIs.
    func pausedVDIs(srUUID: String) throws(SRError) -> [String]
}
