import XMLRPC

/// Requests written the way xapi writes them (`ocaml/libs/http-lib/xMLRPC.ml`): strings as bare
/// `<value>text</value>`, the empty string as `<value/>`, no whitespace, no XML declaration.
enum Xapi {
    static func methodCall(_ method: String, _ members: XMLRPCValue) -> String {
        "<methodCall><methodName>\(method)</methodName><params><param>\(value(members))</param></params></methodCall>"
    }

    static func value(_ value: XMLRPCValue) -> String {
        switch value {
        case .string(let text): text.isEmpty ? "<value/>" : "<value>\(XMLCharacter.escaped(text))</value>"
        case .int(let number): "<value><i4>\(number)</i4></value>"
        case .boolean(let flag): "<value><boolean>\(flag ? 1 : 0)</boolean></value>"
        case .array(let elements):
            elements.isEmpty
                ? "<value><array><data/></array></value>"
                : "<value><array><data>\(elements.map(Self.value).joined())</data></array></value>"
        case .struct(let members):
            members.isEmpty
                ? "<value><struct/></value>"
                : "<value><struct>"
                    + members.map { "<member><name>\($0.name)</name>\(Self.value($0.value))</member>" }.joined()
                    + "</struct></value>"
        default: value.encoded()
        }
    }

    /// The request xapi would send for `command` with `args`; `changes` replaces members,
    /// appends new ones, or (with nil) removes them.
    static func request(_ command: String, args: [String] = [], changes: KeyValuePairs<String, XMLRPCValue?> = [:])
        -> XMLRPCValue
    {
        var members: [XMLRPCValue.Member] = [
            .init("host_ref", "OpaqueRef:133c7c46-f4d9-3695-83c4-bf8574b89fb9"),
            .init("command", .string(command)),
            .init("args", .array(args.map { .string($0) })),
            .init("device_config", ["SRmaster": "true", "path": "/srv/sr"]),
            .init("session_ref", "OpaqueRef:c2c628b6-93c3-5e29-00cf-4f15a34e1555"),
            .init("sr_ref", "OpaqueRef:c523a79a-8a60-121c-832e-d507586cb117"),
            .init("sr_uuid", "13c4384e-897b-e745-6b3e-9a89c06537be"),
            .init("vdi_ref", "OpaqueRef:9d2c1f3e-0000-4000-8000-000000000001"),
            .init("vdi_uuid", "3f0e6c2a-1d2b-4c3d-9e8f-0a1b2c3d4e5f"),
            .init("vdi_location", "3f0e6c2a-1d2b-4c3d-9e8f-0a1b2c3d4e5f"),
            .init("new_uuid", "5b1e2d3c-4a5b-4c6d-8e7f-901234567890"),
        ]
        for (name, value) in changes {
            if let index = members.firstIndex(where: { $0.name == name }) {
                if let value { members[index].value = value } else { members.remove(at: index) }
            } else if let value {
                members.append(.init(name, value))
            }
        }
        return .struct(members)
    }
}
