import SM
import XMLRPC

extension SMAPIRequest {
    /// Parses the document the toolstack passes as the plugin's one argument.
    ///
    /// - Throws: `SMAPIRequestError.malformedXML` for a bad document, or any other case from
    ///   `init(parsing: MethodCall)`.
    public init(parsing document: String, limits: XMLRPCLimits = .default) throws(SMAPIRequestError) {
        try self.init(parsing: Array(document.utf8), limits: limits)
    }

    /// Parses the plugin's argument as the bytes the toolstack passed, so a byte sequence
    /// that is not UTF-8 is refused rather than repaired into U+FFFD.
    ///
    /// - Throws: `SMAPIRequestError.malformedXML` (`XMLRPCError.invalidUTF8` with its byte
    ///   offset, among others) for a bad document, or any other case from `init(parsing: MethodCall)`.
    public init(parsing document: [UInt8], limits: XMLRPCLimits = .default) throws(SMAPIRequestError) {
        let call: MethodCall
        do {
            call = try MethodCall(decoding: document, limits: limits)
        } catch {
            throw .malformedXML(error)
        }
        try self.init(parsing: call)
    }

    /// Parses a decoded `methodCall`: the method must be an SMAPIv1 command, the one parameter
    /// a struct whose known members have their documented types.
    ///
    /// Members this SM does not know are ignored, as SM ignores them. `args` may be absent
    /// (a `vdi_generate_config` result has none) and then counts as empty.
    ///
    /// - Throws: `SMAPIRequestError` naming the command and the member or argument at fault.
    public init(parsing call: MethodCall) throws(SMAPIRequestError) {
        guard let command = SMAPICommand(rawValue: call.methodName) else { throw .unknownCommand(call.methodName) }
        guard call.params.count == 1 else {
            throw .wrongParameterCount(command: call.methodName, found: call.params.count)
        }
        guard case .struct(let members) = call.params[0] else {
            throw .parameterNotAStruct(command: call.methodName, found: call.params[0].typeName)
        }
        let reader = MemberReader(command: command, members: members)
        if let named = try reader.string("command"), named != command.rawValue {
            throw .commandMismatch(methodName: call.methodName, command: named)
        }
        guard let deviceConfig = try reader.stringMap("device_config") else {
            throw .missingMember("device_config", command: command)
        }
        self.command = command
        self.arguments = try SMAPIArguments(command: command, args: try reader.stringArray("args") ?? [])
        self.hostRef = try reader.string("host_ref")
        self.deviceConfig = deviceConfig
        self.sessionRef = try reader.string("session_ref")
        self.srRef = try reader.string("sr_ref")
        self.srUUID = try reader.uuid("sr_uuid")
        self.vdiRef = try reader.string("vdi_ref")
        self.vdiUUID = try reader.uuid("vdi_uuid")
        self.vdiLocation = try reader.uuid("vdi_location")
        self.vdiType = try reader.string("vdi_type")
        self.driverParams = try reader.stringMap("driver_params") ?? [:]
        self.vdiSMConfig = try reader.stringMap("vdi_sm_config") ?? [:]
        self.srSMConfig = try reader.stringMap("sr_sm_config") ?? [:]
        self.newUUID = try reader.uuid("new_uuid")
        self.subtaskOf = try reader.string("subtask_of")
        self.vdiOnBoot = try reader.onBoot("vdi_on_boot")
        self.vdiAllowCaching = try reader.flag("vdi_allow_caching")
        // "" means no cache SR: xapi sends the member only when one is set, but be lenient.
        self.localCacheSR = try reader.string("local_cache_sr") == "" ? nil : try reader.uuid("local_cache_sr")
        try requirePresentMembers()
    }

    /// The members the command cannot run without.
    private func requirePresentMembers() throws(SMAPIRequestError) {
        if command.requiresSRUUID, srUUID == nil { throw .missingMember("sr_uuid", command: command) }
        if command.requiresVDIUUID, vdiUUID == nil { throw .missingMember("vdi_uuid", command: command) }
        if command == .vdiIntroduce, newUUID == nil { throw .missingMember("new_uuid", command: command) }
    }
}

/// Typed reads of the request struct's members; each throws naming the member when its type
/// or text is wrong, and returns nil when it is absent.
private struct MemberReader {
    let command: SMAPICommand
    let members: [XMLRPCValue.Member]

    private func value(_ name: String) -> XMLRPCValue? {
        members.first { $0.name == name }?.value
    }

    func string(_ name: String) throws(SMAPIRequestError) -> String? {
        guard let value = value(name) else { return nil }
        guard case .string(let text) = value else {
            throw .wrongMemberType(name, expected: "string", found: value.typeName, command: command)
        }
        return text
    }

    /// A member naming something on disk: a lower-case uuid, never a path.
    func uuid(_ name: String) throws(SMAPIRequestError) -> String? {
        guard let text = try string(name) else { return nil }
        guard Identifier.isUUID(text) else { throw .invalidUUID(member: name, value: text, command: command) }
        return text
    }

    func stringArray(_ name: String) throws(SMAPIRequestError) -> [String]? {
        guard let value = value(name) else { return nil }
        guard case .array(let elements) = value else {
            throw .wrongMemberType(name, expected: "array", found: value.typeName, command: command)
        }
        var strings: [String] = []
        strings.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            guard case .string(let text) = element else {
                throw .wrongMemberType(
                    "\(name)[\(index)]", expected: "string", found: element.typeName, command: command)
            }
            strings.append(text)
        }
        return strings
    }

    func stringMap(_ name: String) throws(SMAPIRequestError) -> [String: String]? {
        guard let value = value(name) else { return nil }
        guard case .struct(let entries) = value else {
            throw .wrongMemberType(name, expected: "struct", found: value.typeName, command: command)
        }
        var map: [String: String] = [:]
        for entry in entries {
            guard case .string(let text) = entry.value else {
                throw .wrongMemberType(
                    "\(name).\(entry.name)", expected: "string", found: entry.value.typeName, command: command)
            }
            if map[entry.name] == nil { map[entry.name] = text }
        }
        return map
    }

    /// `"true"` or `"false"`, as xapi writes booleans into string members.
    func flag(_ name: String) throws(SMAPIRequestError) -> Bool? {
        guard let text = try string(name) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw .invalidMemberValue(name, value: text, expected: "true or false", command: command)
        }
    }

    func onBoot(_ name: String) throws(SMAPIRequestError) -> VDIRecord.OnBoot? {
        guard let text = try string(name) else { return nil }
        guard let onBoot = VDIRecord.OnBoot(rawValue: text) else {
            throw .invalidMemberValue(name, value: text, expected: "persist or reset", command: command)
        }
        return onBoot
    }
}
