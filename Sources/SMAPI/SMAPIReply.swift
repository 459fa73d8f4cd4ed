import SM
import XMLRPC

/// What a command returns to the toolstack (SMAPI.md §1.4), and its exact stdout text.
public enum SMAPIReply: Hashable, Sendable {
    /// Nothing to return: `<value><nil/></value>` (SM's `util.return_nil`).
    case `nil`
    /// A string: `sr_probe`'s XML, `sr_content_type`, `vdi_generate_config`'s document.
    case string(String)
    /// A VDI-producing call: struct `{location, uuid}` (SM's `VDI.get_params`).
    case vdi(location: String, uuid: String)
    /// `vdi_attach` / `vdi_attach_from_config`.
    case attach(AttachInfo)
    /// `sr_get_driver_info`; the capabilities are advertised as SM's `util.sr_get_driver_info`
    /// does (`ATOMIC_PAUSE` implies `VDI_ACTIVATE` and `VDI_DEACTIVATE`).
    case driverInfo(DriverInfo)
    /// A failure: SM's catalogue number and fault string.
    case fault(code: Int32, string: String)

    /// The fault for `error`: its catalogue number and `faultString`.
    public static func fault(_ error: SRError) -> SMAPIReply {
        .fault(code: error.code.number, string: error.faultString)
    }

    /// `vdi_generate_config`'s reply: a `vdi_attach_from_config` methodCall document, written
    /// as SM's `generate_config` writes it (struct members `device_config`, `sr_uuid`,
    /// `vdi_uuid`, `command`), returned as a string. The device-config keys are sorted, since
    /// a dictionary has no order of its own.
    public static func generatedConfig(deviceConfig: [String: String], srUUID: String, vdiUUID: String) -> SMAPIReply {
        let config: XMLRPCValue = .struct([
            .init(
                "device_config",
                .struct(deviceConfig.sorted { $0.key < $1.key }.map { .init($0.key, .string($0.value)) })),
            .init("sr_uuid", .string(srUUID)),
            .init("vdi_uuid", .string(vdiUUID)),
            .init("command", .string(SMAPICommand.vdiAttachFromConfig.rawValue)),
        ])
        return .string(MethodCall(methodName: SMAPICommand.vdiAttachFromConfig.rawValue, params: [config]).encoded())
    }

    /// The XML-RPC response.
    public var methodResponse: MethodResponse {
        switch self {
        case .nil: .params([.nil])
        case .string(let text): .params([.string(text)])
        case .vdi(let location, let uuid):
            .params([.struct([.init("location", .string(location)), .init("uuid", .string(uuid))])])
        case .attach(let info): .params([info.smapiReplyValue])
        case .driverInfo(let info): .params([info.smapiReplyValue])
        case .fault(let code, let string): .fault(XMLRPCFault(code: code, string: string))
        }
    }

    /// The exact text SM prints on stdout for this reply: Python's
    /// `xmlrpc.client.dumps(…, methodresponse=True)` followed by the newline `print` adds, so
    /// every reply (fault or not) ends in a blank line.
    public func encoded() -> String {
        methodResponse.encoded() + "\n"
    }
}
