import SM
import XMLRPC

/// One SMAPIv1 request from the toolstack, parsed and validated once: the command, its typed
/// arguments, and the members of the call's struct (SMAPI.md §1.3). Nothing downstream reads
/// raw XML-RPC or positional `args` again.
///
/// Members that become file or volume names (`sr_uuid`, `vdi_uuid`, `vdi_location`,
/// `new_uuid`, `local_cache_sr`) are lower-case uuids, checked with `Identifier.isUUID`;
/// `sr_uuid` is present for every command that `requiresSRUUID`, `vdi_uuid` for every one
/// that `requiresVDIUUID`, and `new_uuid` for `vdi_introduce`.
public struct SMAPIRequest: Hashable, Sendable {
    /// The command, from the method name (and equal to the `command` member when present).
    public var command: SMAPICommand
    /// The typed positional arguments.
    public var arguments: SMAPIArguments
    /// `host_ref`: the xapi ref of the executing host; absent in a `vdi_generate_config` result.
    public var hostRef: String?
    /// `device_config`: the PBD's device-config, plus `SRmaster`.
    public var deviceConfig: [String: String]
    /// `session_ref`: the xapi session for callbacks; absent for `sr_get_driver_info`.
    public var sessionRef: String?
    /// `sr_ref`: the xapi ref of the SR.
    public var srRef: String?
    /// `sr_uuid`, a validated uuid.
    public var srUUID: String?
    /// `vdi_ref`: the xapi ref of the VDI (of the snapshot, for `vdi_revert`; of vdi2 for
    /// `vdi_compose`).
    public var vdiRef: String?
    /// `vdi_uuid`, a validated uuid; for `vdi_create` only when xapi imposes one.
    public var vdiUUID: String?
    /// `vdi_location`, a validated uuid (every driver of this SM locates a VDI by its uuid).
    public var vdiLocation: String?
    /// `vdi_type`: the xapi VDI type for `vdi_create` (`user`, `system`, `suspend`, ...).
    public var vdiType: String?
    /// `driver_params`: user options for `vdi_snapshot`/`vdi_clone` (`type=single|internal`).
    public var driverParams: [String: String]
    /// `vdi_sm_config`: initial sm-config for `vdi_create`/`vdi_introduce`.
    public var vdiSMConfig: [String: String]
    /// `sr_sm_config`: the SR-level sm-config given to `sr_probe`.
    public var srSMConfig: [String: String]
    /// `new_uuid`: the uuid `vdi_introduce` gives the VDI, validated.
    public var newUUID: String?
    /// `subtask_of`: the caller's task ref, forwarded on XenAPI callbacks.
    public var subtaskOf: String?
    /// `vdi_on_boot`: what the VDI does at the start of a boot epoch.
    public var vdiOnBoot: VDIRecord.OnBoot?
    /// `vdi_allow_caching`.
    public var vdiAllowCaching: Bool?
    /// `local_cache_sr`: the uuid of the host's local cache SR, validated.
    public var localCacheSR: String?

    /// Whether `device_config:SRmaster` is `true`: this host is the SR master.
    public var isSRMaster: Bool { deviceConfig["SRmaster"] == "true" }

    /// The `vdi_create` arguments, when that is the command.
    public var vdiCreateArguments: VDICreateArguments? {
        if case .vdiCreate(let arguments) = arguments { return arguments }
        return nil
    }

    /// `sr_uuid`, or `missingMember` if the request has none.
    public func requireSRUUID() throws(SMAPIRequestError) -> String {
        guard let srUUID else { throw .missingMember("sr_uuid", command: command) }
        return srUUID
    }

    /// `vdi_uuid`, or `missingMember` if the request has none.
    public func requireVDIUUID() throws(SMAPIRequestError) -> String {
        guard let vdiUUID else { throw .missingMember("vdi_uuid", command: command) }
        return vdiUUID
    }
}

extension SMAPIRequest: CustomStringConvertible, CustomDebugStringConvertible {
    /// The request for logs, secrets hidden as SM's `hidePasswdInParams` hides them: the
    /// session ref, and every `device_config` entry whose key contains `password`.
    public var description: String {
        var parts = ["command: \(command.rawValue)", "arguments: \(arguments)"]
        func add(_ name: String, _ value: String?) {
            if let value { parts.append("\(name): \(value)") }
        }
        add("host_ref", hostRef)
        let config = deviceConfig.sorted { $0.key < $1.key }.map { key, value in
            "\(key): \(key.lowercased().contains("password") ? "******" : value)"
        }
        parts.append("device_config: [\(config.joined(separator: ", "))]")
        add("session_ref", sessionRef.map { _ in "******" })
        add("sr_ref", srRef)
        add("sr_uuid", srUUID)
        add("vdi_ref", vdiRef)
        add("vdi_uuid", vdiUUID)
        add("vdi_location", vdiLocation)
        add("vdi_type", vdiType)
        if !driverParams.isEmpty { add("driver_params", "\(driverParams.sorted { $0.key < $1.key })") }
        if !vdiSMConfig.isEmpty { add("vdi_sm_config", "\(vdiSMConfig.sorted { $0.key < $1.key })") }
        if !srSMConfig.isEmpty { add("sr_sm_config", "\(srSMConfig.sorted { $0.key < $1.key })") }
        add("new_uuid", newUUID)
        add("subtask_of", subtaskOf)
        add("vdi_on_boot", vdiOnBoot?.rawValue)
        add("vdi_allow_caching", vdiAllowCaching.map { "\($0)" })
        add("local_cache_sr", localCacheSR)
        return "SMAPIRequest(" + parts.joined(separator: ", ") + ")"
    }

    public var debugDescription: String { description }
}
