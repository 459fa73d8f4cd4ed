import Synchronization

/// The in-memory `BlockBackend`: the seam's test double. State lives in this process only;
/// it can pause (so the pause path of snapshot and revert can be tested), and it records every
/// call in order.
public final class MemoryBlockBackend: BlockBackend {
    private struct State {
        var vdis: [String: BackendState] = [:]
        var calls: [String] = []
    }

    private let state = Mutex(State())
    public let canPause: Bool

    public init(canPause: Bool = true) {
        self.canPause = canPause
    }

    /// Every call so far as `<operation> <vdi uuid>`, oldest first.
    public var calls: [String] { state.withLock { $0.calls } }

    public func attach(_ vdi: BackendVDI, writable: Bool) throws(SRError) -> AttachInfo {
        guard vdi.container.exists(vdi.volume) else {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdi.uuid) has no volume \(vdi.volume)")
        }
        update(vdi, "attach") { $0.attached = true }
        let vdiType = vdi.record.volumeType == .vhd ? "vhd" : "aio"
        return AttachInfo(
            params: vdi.container.hostPath(of: vdi.volume) ?? "memory:\(vdi.uuid)",
            xenstoreData: ["storage-type": vdi.storageType, "vdi-type": vdiType])
    }

    public func activate(_ vdi: BackendVDI, writable: Bool) throws(SRError) {
        guard try state(srUUID: vdi.srUUID, vdiUUID: vdi.uuid).attached else {
            throw SRError(.vdiUnavailable, opterr: "VDI \(vdi.uuid) is not attached")
        }
        update(vdi, "activate") { state in
            if writable { state.activeReadWrite = true } else { state.activeReadOnly += 1 }
        }
    }

    public func pause(_ vdi: BackendVDI) throws(SRError) { update(vdi, "pause") { $0.paused = true } }
    public func unpause(_ vdi: BackendVDI) throws(SRError) { update(vdi, "unpause") { $0.paused = false } }

    public func deactivate(_ vdi: BackendVDI) throws(SRError) {
        update(vdi, "deactivate") { state in
            if state.activeReadWrite {
                state.activeReadWrite = false
            } else {
                state.activeReadOnly = max(0, state.activeReadOnly - 1)
            }
        }
    }

    public func detach(_ vdi: BackendVDI) throws(SRError) { update(vdi, "detach") { $0 = BackendState() } }

    public func state(srUUID: String, vdiUUID: String) throws(SRError) -> BackendState {
        state.withLock { $0.vdis[srUUID + "/" + vdiUUID] ?? BackendState() }
    }

    public func reset(srUUID: String) throws(SRError) {
        state.withLock { state in
            for key in state.vdis.keys where key.hasPrefix(srUUID + "/") { state.vdis[key] = nil }
        }
    }

    public func pausedVDIs(srUUID: String) throws(SRError) -> [String] {
        state.withLock { state in
            state.vdis.filter { $0.key.hasPrefix(srUUID + "/") && $0.value.paused }
                .map { String($0.key.dropFirst(srUUID.count + 1)) }.sorted()
        }
    }

    private func update(_ vdi: BackendVDI, _ operation: String, _ change: (inout BackendState) -> Void) {
        state.withLock { state in
            change(&state.vdis[vdi.srUUID + "/" + vdi.uuid, default: BackendState()])
            state.calls.append("\(operation) \(vdi.uuid)")
        }
    }
}
