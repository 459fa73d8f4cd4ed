import XMLRPC

/// The typed positional `args` of a request, one case per command shape; commands without
/// arguments have `.none`.
public enum SMAPIArguments: Hashable, Sendable {
    case none
    /// `sr_create [size]`: the SR's physical size in bytes (xapi sends 0 when unknown).
    case srCreate(size: UInt64)
    /// `vdi_create [size, name_label, ...]`.
    case vdiCreate(VDICreateArguments)
    /// `vdi_attach [writable]`.
    case vdiAttach(writable: Bool)
    /// `vdi_activate [writable]`.
    case vdiActivate(writable: Bool)
    /// `vdi_resize [new_size]` and `vdi_resize_online [new_size]`: the new virtual size in bytes.
    case vdiResize(newSize: UInt64)
    /// `vdi_compose [vdi1_ref]`: the xapi ref of the VDI to become the parent of `vdi_uuid`.
    case vdiCompose(vdi1Ref: String)
    /// `vdi_revert [target]`: the VDI (a xapi ref) whose content becomes that of the snapshot
    /// `vdi_uuid` names.
    case vdiRevert(targetVDIRef: String)
    /// `vdi_list_changed_blocks [vdi_to_ref]`: the xapi ref of the later VDI.
    case vdiListChangedBlocks(vdiToRef: String)
}

/// The eight arguments of `vdi_create`, in xapi's order (`sm.ml` `vdi_create`).
public struct VDICreateArguments: Hashable, Sendable {
    /// The virtual size in bytes.
    public var size: UInt64
    /// The name, already checked to hold only XML 1.0 characters.
    public var nameLabel: String
    /// The description, already checked to hold only XML 1.0 characters.
    public var nameDescription: String
    /// The xapi ref of the pool whose metadata this VDI holds, or empty.
    public var metadataOfPool: String
    public var isASnapshot: Bool
    /// xapi's timestamp text (`19700101T00:00:00Z` for never).
    public var snapshotTime: String
    /// The xapi ref of the VDI this is a snapshot of, or empty.
    public var snapshotOf: String
    public var readOnly: Bool

    /// Arguments with the given fields.
    public init(
        size: UInt64, nameLabel: String, nameDescription: String, metadataOfPool: String = "",
        isASnapshot: Bool = false, snapshotTime: String = "19700101T00:00:00Z", snapshotOf: String = "",
        readOnly: Bool = false
    ) {
        self.size = size
        self.nameLabel = nameLabel
        self.nameDescription = nameDescription
        self.metadataOfPool = metadataOfPool
        self.isASnapshot = isASnapshot
        self.snapshotTime = snapshotTime
        self.snapshotOf = snapshotOf
        self.readOnly = readOnly
    }
}

extension SMAPIArguments {
    /// Parses `args` for `command`: the count must match `command.argumentNames`, sizes are
    /// unsigned decimal integers, flags `true` or `false` (xapi's `string_of_bool`), and
    /// `vdi_create`'s label and description hold only XML 1.0 characters.
    init(command: SMAPICommand, args: [String]) throws(SMAPIRequestError) {
        let names = command.argumentNames
        guard args.count == names.count else {
            throw .wrongArgumentCount(command: command, expected: names, found: args.count)
        }
        let reader = ArgumentReader(command: command, args: args)
        switch command {
        case .srCreate:
            self = .srCreate(size: try reader.size(0))
        case .vdiCreate:
            self = .vdiCreate(
                VDICreateArguments(
                    size: try reader.size(0), nameLabel: try reader.xmlText(1), nameDescription: try reader.xmlText(2),
                    metadataOfPool: args[3], isASnapshot: try reader.flag(4), snapshotTime: args[5],
                    snapshotOf: args[6], readOnly: try reader.flag(7)))
        case .vdiAttach:
            self = .vdiAttach(writable: try reader.flag(0))
        case .vdiActivate:
            self = .vdiActivate(writable: try reader.flag(0))
        case .vdiResize, .vdiResizeOnline:
            self = .vdiResize(newSize: try reader.size(0))
        case .vdiCompose:
            self = .vdiCompose(vdi1Ref: args[0])
        case .vdiRevert:
            self = .vdiRevert(targetVDIRef: args[0])
        case .vdiListChangedBlocks:
            self = .vdiListChangedBlocks(vdiToRef: args[0])
        default:
            self = .none
        }
    }
}

/// Typed reads of positional arguments whose count is already checked.
private struct ArgumentReader {
    let command: SMAPICommand
    let args: [String]

    func size(_ index: Int) throws(SMAPIRequestError) -> UInt64 {
        let text = args[index]
        guard !text.isEmpty, text.utf8.allSatisfy({ (48...57).contains($0) }), let value = UInt64(text) else {
            throw .malformedNumber(command: command, argument: command.argumentNames[index], text: text)
        }
        return value
    }

    func flag(_ index: Int) throws(SMAPIRequestError) -> Bool {
        switch args[index] {
        case "true": return true
        case "false": return false
        default: throw .malformedBoolean(command: command, argument: command.argumentNames[index], text: args[index])
        }
    }

    func xmlText(_ index: Int) throws(SMAPIRequestError) -> String {
        if let scalar = XMLCharacter.firstIllegalScalar(in: args[index]) {
            throw .illegalXMLCharacter(command: command, argument: command.argumentNames[index], scalar: scalar.value)
        }
        return args[index]
    }
}
