import SM
import XMLRPC

/// Runs SMAPIv1 requests against one driver: each command becomes calls on `SRHost` (the typed
/// API), and every outcome a reply — success values in the reference's shapes, failures as
/// faults with the catalogue's numbers and `[opterr=…]` strings. It never throws: whatever goes
/// wrong is a fault, as SM's `SRCommand.run` makes it.
public struct SMAPIDispatcher: Sendable {
    public var host: SRHost
    public let toolstack: any ToolstackLink

    public init(host: SRHost, toolstack: any ToolstackLink = StandaloneToolstack()) {
        self.host = host
        self.toolstack = toolstack
    }

    public var driver: any SRDriver { host.driver }

    /// The reply to the plugin's one argument, a `methodCall` document: `BadRequest` (143) for
    /// a malformed or unknown request, `IllegalXMLChar` (447) for a label XML cannot carry.
    public func reply(toDocument document: String) -> SMAPIReply {
        let request: SMAPIRequest
        do { request = try SMAPIRequest(parsing: document) } catch { return .fault(error.srError) }
        return reply(to: request)
    }

    /// The reply to the plugin's one argument as raw bytes: as `reply(toDocument:)` for text,
    /// and `BadRequest` (143) for bytes that are not UTF-8.
    public func reply(toDocument document: [UInt8]) -> SMAPIReply {
        let request: SMAPIRequest
        do { request = try SMAPIRequest(parsing: document) } catch { return .fault(error.srError) }
        return reply(to: request)
    }

    /// The reply to a decoded `methodCall` (one built in memory, or decoded elsewhere).
    public func reply(toCall call: MethodCall) -> SMAPIReply {
        let request: SMAPIRequest
        do { request = try SMAPIRequest(parsing: call) } catch { return .fault(error.srError) }
        return reply(to: request)
    }

    /// The reply to a parsed request.
    public func reply(to request: SMAPIRequest) -> SMAPIReply {
        var dispatcher = self
        // xapi says in every device_config whether this host is the SR master; a request
        // without the key (a caller other than xapi) is taken as the master's.
        dispatcher.host.isMaster = request.deviceConfig["SRmaster"] != "false"
        do { return try dispatcher.run(request) } catch { return .fault(error) }
    }

    /// Runs `request`; SM's `SRCommand._run`.
    func run(_ request: SMAPIRequest) throws(SRError) -> SMAPIReply {
        guard request.command.isImplemented else {
            throw SRError(.unimplemented, opterr: "\(request.command.rawValue) is not supported by this SM")
        }
        if request.command.isSRMasterOnly, !host.isMaster {
            // The reference's answer when a master-only change reaches another host (LVHD's
            // `LVMMaster`): only the master changes an SR's volumes and records.
            throw SRError(
                .lvmMaster,
                opterr: "\(request.command.rawValue) runs on the SR master; this host is not (device_config:SRmaster=false)")
        }
        switch request.command {
        case .srGetDriverInfo: return .driverInfo(driver.info)
        case .srProbe: return .string(try host.probe(deviceConfig: request.deviceConfig, smConfig: request.srSMConfig))
        case .srContentType: return .string(driver.contentType)
        case .srCreate, .srDelete, .srAttach, .srDetach, .srScan, .srUpdate: return try runSR(request)
        case .vdiIntroduce:
            throw SRError(.unimplemented, opterr: "vdi_introduce is not supported by \(driver.pluginName)")
        case .vdiAttachFromConfig, .vdiDetachFromConfig: return try runFromConfig(request)
        default: return try runVDI(request)
        }
    }

    func runSR(_ request: SMAPIRequest) throws(SRError) -> SMAPIReply {
        let srUUID = try uuid(request.requireSRUUID)
        let config = request.deviceConfig
        switch request.command {
        case .srCreate:
            _ = try host.createSR(uuid: srUUID, deviceConfig: config)
        case .srAttach:
            try host.attachSR(uuid: srUUID, deviceConfig: config)
        case .srDetach:
            try host.detachSR(uuid: srUUID, deviceConfig: config)
        case .srDelete:
            try host.deleteSR(uuid: srUUID, deviceConfig: config)
        case .srScan:
            try host.withEngine(srUUID: srUUID, deviceConfig: config) { engine throws(SRError) in
                do throws(SRError) { _ = try host.scan(engine) } catch {
                    throw error.code == .srScan
                        ? error : SRError(.srScan, opterr: error.faultString, cause: error.cause)
                }
            }
        default:
            try host.withEngine(srUUID: srUUID, deviceConfig: config) { engine throws(SRError) in _ = try engine.space()
            }
        }
        return .nil
    }

    /// `vdi_attach_from_config` (attach the SR if it is not, then attach and activate the VDI
    /// read-write, as FileSR's does with `ATTACH_FROM_CONFIG_WITH_TAPDISK`) and
    /// `vdi_detach_from_config` (deactivate and detach).
    func runFromConfig(_ request: SMAPIRequest) throws(SRError) -> SMAPIReply {
        let srUUID = try uuid(request.requireSRUUID)
        let vdiUUID = try uuid(request.requireVDIUUID)
        if request.command == .vdiAttachFromConfig,
            (try? host.driver.storage(srUUID: srUUID, deviceConfig: request.deviceConfig)) == nil
        {
            do { try host.attachSR(uuid: srUUID, deviceConfig: request.deviceConfig) } catch {
                throw SRError(.srUnavailable, opterr: "Unable to attach from config", cause: error.description)
            }
        }
        return try host.withEngine(srUUID: srUUID, deviceConfig: request.deviceConfig) { engine throws(SRError) in
            if request.command == .vdiDetachFromConfig {
                try host.deactivateVDI(engine, vdiUUID)
                try host.detachVDI(engine, vdiUUID)
                return .nil
            }
            let info = try host.attachVDI(engine, vdiUUID, writable: true)
            try host.activateVDI(engine, vdiUUID, writable: true)
            return .attach(info)
        }
    }

    /// A member the request parser already required and validated.
    func uuid(_ read: () throws(SMAPIRequestError) -> String) throws(SRError) -> String {
        do { return try read() } catch { throw error.srError }
    }
}
