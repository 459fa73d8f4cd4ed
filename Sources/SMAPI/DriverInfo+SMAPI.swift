import SM
import XMLRPC

extension DriverInfo {
    /// The capabilities as SM advertises them (`util.sr_get_driver_info`): a driver with
    /// `ATOMIC_PAUSE` also gets `VDI_ACTIVATE` and `VDI_DEACTIVATE`, appended if missing.
    var smapiAdvertisedCapabilities: [String] {
        var advertised = capabilities
        if advertised.contains("ATOMIC_PAUSE") {
            for implied in ["VDI_ACTIVATE", "VDI_DEACTIVATE"] where !advertised.contains(implied) {
                advertised.append(implied)
            }
        }
        return advertised
    }

    /// The `sr_get_driver_info` reply struct, members in SM's order: name, description, vendor,
    /// copyright, driver_version, required_api_version, capabilities, configuration
    /// `[{key, description}]`.
    var smapiReplyValue: XMLRPCValue {
        .struct([
            .init("name", .string(name)),
            .init("description", .string(description)),
            .init("vendor", .string(vendor)),
            .init("copyright", .string(copyright)),
            .init("driver_version", .string(driverVersion)),
            .init("required_api_version", .string(requiredAPIVersion)),
            .init("capabilities", .array(smapiAdvertisedCapabilities.map { .string($0) })),
            .init(
                "configuration",
                .array(
                    configuration.map {
                        .struct([.init("key", .string($0.key)), .init("description", .string($0.description))])
                    })),
        ])
    }
}

extension AttachInfo {
    /// The `vdi_attach` reply struct, members in SM's order (`blktap2.VDI.attach`): params,
    /// params_nbd, o_direct, o_direct_reason, xenstore_data (its keys sorted, since a
    /// dictionary has no order of its own).
    var smapiReplyValue: XMLRPCValue {
        .struct([
            .init("params", .string(params)),
            .init("params_nbd", .string(paramsNBD)),
            .init("o_direct", .boolean(oDirect)),
            .init("o_direct_reason", .string(oDirectReason)),
            .init(
                "xenstore_data",
                .struct(xenstoreData.sorted { $0.key < $1.key }.map { .init($0.key, .string($0.value)) })),
        ])
    }
}
