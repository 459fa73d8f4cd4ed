import SM

/// The calls a driver makes back into the toolstack (SM's XenAPI session): here only what the
/// dispatcher needs, turning the xapi refs some commands carry as arguments (`vdi_compose`'s
/// `vdi1_ref`, `vdi_revert`'s target) into VDI uuids. The XenAPI client conformer comes with
/// the toolstack issue; `StandaloneToolstack` serves hosts without one.
public protocol ToolstackLink: Sendable {
    /// The uuid of the VDI xapi knows as `ref`.
    func vdiUUID(forRef ref: String, sessionRef: String?) throws(SRError) -> String
}

/// No toolstack: a "ref" must be the VDI's uuid itself (what `sm` and tests pass).
public struct StandaloneToolstack: ToolstackLink {
    public init() {}

    public func vdiUUID(forRef ref: String, sessionRef: String?) throws(SRError) -> String {
        guard Identifier.isUUID(ref) else {
            throw SRError(
                .vdiMissing, opterr: "cannot resolve \(ref.prefix(64)) without a toolstack: pass the VDI's uuid")
        }
        return ref
    }
}
