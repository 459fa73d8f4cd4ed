/// The backend without a datapath (`SM_BLOCK_BACKEND=path`; the NBD backend keeps its counts
/// with it): it serves nothing itself and hands the consumer the leaf volume's path on this host (a `.vhd` file a VHD-aware consumer such as qemu's
/// `vpc` driver opens with its chain; a `.raw` file anyone opens). Attach and activation are
/// recorded as reference counts, namespace `attach-<sr_uuid>` (binary: attached) and
/// `active-<sr_uuid>` (binary: active read-write; normal: read-only activations), plus
/// `paused-<sr_uuid>`, so every process on the host sees them.
public struct PathBlockBackend: BlockBackend {
    public let refcounts: RefCounter

    public init(refcounts: RefCounter) {
        self.refcounts = refcounts
    }

    /// A consumer holds the leaf file itself, so nothing can be paused.
    public var canPause: Bool { false }

    public func attach(_ vdi: BackendVDI, writable: Bool) throws(SRError) -> AttachInfo {
        guard vdi.container.exists(vdi.volume) else {
            throw SRError(
                .vdiUnavailable, opterr: "VDI \(vdi.uuid) has no volume \(vdi.volume) in \(vdi.container.name)")
        }
        guard let path = vdi.container.hostPath(of: vdi.volume) else {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdi.uuid) has no path on this host")
        }
        if writable, vdi.record.readOnly || vdi.record.hidden {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdi.uuid) is read-only")
        }
        try refcounts.get(vdi.uuid, binary: true, namespace: Self.attachSpace(vdi.srUUID))
        let vdiType = vdi.record.volumeType == .vhd ? "vhd" : "aio"
        return AttachInfo(params: path, xenstoreData: ["storage-type": vdi.storageType, "vdi-type": vdiType])
    }

    public func activate(_ vdi: BackendVDI, writable: Bool) throws(SRError) {
        let state = try state(srUUID: vdi.srUUID, vdiUUID: vdi.uuid)
        guard state.attached else {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdi.uuid) is not attached on this host")
        }
        if writable, vdi.record.readOnly || vdi.record.hidden {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdi.uuid) is read-only")
        }
        if writable && state.activeReadWrite { return }
        try refcounts.get(vdi.uuid, binary: writable, namespace: Self.activeSpace(vdi.srUUID))
    }

    public func pause(_ vdi: BackendVDI) throws(SRError) {
        try refcounts.get(vdi.uuid, binary: true, namespace: Self.pausedSpace(vdi.srUUID))
    }

    public func unpause(_ vdi: BackendVDI) throws(SRError) {
        try refcounts.put(vdi.uuid, binary: true, namespace: Self.pausedSpace(vdi.srUUID))
    }

    public func deactivate(_ vdi: BackendVDI) throws(SRError) {
        let state = try state(srUUID: vdi.srUUID, vdiUUID: vdi.uuid)
        guard state.isActive else { return }
        try refcounts.put(vdi.uuid, binary: state.activeReadWrite, namespace: Self.activeSpace(vdi.srUUID))
    }

    /// Detaches, deactivating first when the consumer left the VDI active (as blktap2 does).
    public func detach(_ vdi: BackendVDI) throws(SRError) {
        try refcounts.reset(vdi.uuid, namespace: Self.activeSpace(vdi.srUUID))
        try refcounts.reset(vdi.uuid, namespace: Self.pausedSpace(vdi.srUUID))
        try refcounts.reset(vdi.uuid, namespace: Self.attachSpace(vdi.srUUID))
    }

    public func state(srUUID: String, vdiUUID: String) throws(SRError) -> BackendState {
        var state = BackendState()
        state.attached = try refcounts.check(vdiUUID, namespace: Self.attachSpace(srUUID)).binaryCount > 0
        let active = try refcounts.check(vdiUUID, namespace: Self.activeSpace(srUUID))
        state.activeReadWrite = active.binaryCount > 0
        state.activeReadOnly = active.count
        state.paused = try refcounts.check(vdiUUID, namespace: Self.pausedSpace(srUUID)).binaryCount > 0
        return state
    }

    public func reset(srUUID: String) throws(SRError) {
        for space in [Self.attachSpace(srUUID), Self.activeSpace(srUUID), Self.pausedSpace(srUUID)] {
            try refcounts.resetAll(namespace: space)
        }
    }

    public func pausedVDIs(srUUID: String) throws(SRError) -> [String] {
        try refcounts.objects(namespace: Self.pausedSpace(srUUID))
    }

    static func attachSpace(_ srUUID: String) -> String { "attach-" + srUUID }
    static func activeSpace(_ srUUID: String) -> String { "active-" + srUUID }
    static func pausedSpace(_ srUUID: String) -> String { "paused-" + srUUID }
}
