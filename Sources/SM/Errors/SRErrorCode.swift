/// One entry of SM's error catalogue (`XE_SR_ERRORCODES.xml`): the name SM raises it by, the
/// number the toolstack sees as the XML-RPC fault code, and the description that starts the
/// fault string.
///
/// A flat catalogue, one constant per code, in the catalogue's number order. Names and
/// descriptions are byte-for-byte the reference's: xapi shows them to users as
/// `SR_BACKEND_FAILURE_<number>`, and maps 16, 24, 38, 39 and 144 to its own errors.
///
/// ```swift
/// throw SRError(.vdiMissing, opterr: uuid)     // fault 144 "VDI could not be found [opterr=…]"
/// ```
public struct SRErrorCode: Hashable, Sendable {
    /// The catalogue key (`VDIMissing`), as SM's `XenError(key)` names it.
    public let name: String
    /// The XML-RPC fault code (`144`).
    public let number: Int32
    /// The catalogue's description, verbatim (`VDI could not be found`).
    public let description: String

    /// A code; the catalogue below holds every one this SM raises.
    public init(name: String, number: Int32, description: String) {
        self.name = name
        self.number = number
        self.description = description
    }

    // MARK: Generic

    /// 1: `InvalidArg`. Also the number SM reports for an unknown catalogue key.
    public static let invalidArg = SRErrorCode(name: "InvalidArg", number: 1, description: "Invalid argument")

    // MARK: The special codes (xapi maps 16, 24, 38 and 39 to its own errors)

    /// 16: `SRInUse`; xapi raises `SR_DEVICE_IN_USE`.
    public static let srInUse = SRErrorCode(
        name: "SRInUse", number: 16, description: "The SR device is currently in use")
    /// 24: `VDIInUse`; xapi raises `VDI_IN_USE`.
    public static let vdiInUse = SRErrorCode(
        name: "VDIInUse", number: 24, description: "The VDI is currently in use")
    /// 37: `LockErr`.
    public static let lockErr = SRErrorCode(
        name: "LockErr", number: 37, description: "The lock/unlock request failed")
    /// 38: `Unimplemented`; xapi raises `SR_OPERATION_NOT_SUPPORTED`.
    public static let unimplemented = SRErrorCode(
        name: "Unimplemented", number: 38, description: "The requested method is not supported/implemented")
    /// 39: `SRNotEmpty`; xapi raises `SR_NOT_EMPTY`.
    public static let srNotEmpty = SRErrorCode(
        name: "SRNotEmpty", number: 39, description: "The SR is not empty")

    // MARK: SR and VDI operations

    /// 40: `SRScan`, the default code of a failed `sr_scan`.
    ///
    /// The trailing space is the reference's (`<description>The SR scan failed </description>`,
    /// read without trimming), so its fault string reads `The SR scan failed  [opterr=…]`.
    public static let srScan = SRErrorCode(name: "SRScan", number: 40, description: "The SR scan failed ")
    /// 42: `SRExists`.
    public static let srExists = SRErrorCode(name: "SRExists", number: 42, description: "The SR already exists")
    /// 43: `VDIExists`.
    public static let vdiExists = SRErrorCode(name: "VDIExists", number: 43, description: "The VDI already exists")
    /// 44: `SRNoSpace`.
    public static let srNoSpace = SRErrorCode(
        name: "SRNoSpace", number: 44, description: "There is insufficient space")
    /// 46: `VDIUnavailable`, the default code of a failed attach, detach, activate or deactivate.
    public static let vdiUnavailable = SRErrorCode(
        name: "VDIUnavailable", number: 46, description: "The VDI is not available")
    /// 47: `SRUnavailable`.
    public static let srUnavailable = SRErrorCode(
        name: "SRUnavailable", number: 47, description: "The SR is not available")
    /// 48: `SRUnknownType`.
    public static let srUnknownType = SRErrorCode(
        name: "SRUnknownType", number: 48, description: "Unknown repository type")

    // MARK: LVM and file SRs

    /// 50: `LVMCreate`.
    public static let lvmCreate = SRErrorCode(
        name: "LVMCreate", number: 50, description: "Logical Volume creation error")
    /// 52: `LVMMount`.
    public static let lvmMount = SRErrorCode(
        name: "LVMMount", number: 52, description: "Logical Volume mount/activate error")
    /// 58: `LVMMaster`.
    public static let lvmMaster = SRErrorCode(
        name: "LVMMaster", number: 58, description: "Logical Volume request must come from master")
    /// 61: `FileSRCreate`.
    public static let fileSRCreate = SRErrorCode(
        name: "FileSRCreate", number: 61, description: "File SR creation error")

    // MARK: VDIs

    /// 65: `VDILoad`, the default code of a failed `vdi_init`.
    public static let vdiLoad = SRErrorCode(name: "VDILoad", number: 65, description: "Failed to load VDI")
    /// 66: `VDIType`.
    public static let vdiType = SRErrorCode(name: "VDIType", number: 66, description: "Invalid VDI type")

    // MARK: Transports

    /// 68: `ISCSILogin`.
    public static let iscsiLogin = SRErrorCode(
        name: "ISCSILogin", number: 68,
        description:
            "ISCSI login failed - check access settings for the initiator on the storage, if CHAP is used verify CHAP credentials"
    )
    /// 72: `NFSVersion`.
    public static let nfsVersion = SRErrorCode(
        name: "NFSVersion", number: 72, description: "Required NFS server version unsupported")
    /// 73: `NFSMount`.
    public static let nfsMount = SRErrorCode(name: "NFSMount", number: 73, description: "NFS mount error")

    // MARK: VDI commands

    /// 78: `VDICreate`, the default code of a failed `vdi_create`.
    public static let vdiCreate = SRErrorCode(name: "VDICreate", number: 78, description: "VDI Creation failed")
    /// 79: `VDISize`.
    public static let vdiSize = SRErrorCode(name: "VDISize", number: 79, description: "VDI Invalid size")
    /// 80: `VDIDelete`, the default code of a failed `vdi_delete` (the description is SM's).
    public static let vdiDelete = SRErrorCode(
        name: "VDIDelete", number: 80, description: "Failed to mark VDI hidden")
    /// 81: `VDIClone`, the default code of a failed `vdi_clone`.
    public static let vdiClone = SRErrorCode(name: "VDIClone", number: 81, description: "Failed to clone VDI")
    /// 82: `VDISnapshot`, the default code of a failed `vdi_snapshot`.
    public static let vdiSnapshot = SRErrorCode(
        name: "VDISnapshot", number: 82, description: "Failed to snapshot VDI")

    // MARK: device-config

    /// 90: `ConfigDeviceMissing`.
    public static let configDeviceMissing = SRErrorCode(
        name: "ConfigDeviceMissing", number: 90, description: "The request is missing the device parameter")
    /// 94: `ConfigLocationMissing`.
    public static let configLocationMissing = SRErrorCode(
        name: "ConfigLocationMissing", number: 94, description: "The request is missing the location parameter")
    /// 95: `ConfigTargetMissing`.
    public static let configTargetMissing = SRErrorCode(
        name: "ConfigTargetMissing", number: 95, description: "The request is missing the target parameter")
    /// 96: `ConfigTargetIQNMissing`.
    public static let configTargetIQNMissing = SRErrorCode(
        name: "ConfigTargetIQNMissing", number: 96,
        description: "The request is missing or has an incorrect target IQN parameter")
    /// 101: `ConfigServerPathMissing`.
    public static let configServerPathMissing = SRErrorCode(
        name: "ConfigServerPathMissing", number: 101, description: "The request is missing the serverpath parameter")
    /// 102: `ConfigServerMissing`.
    public static let configServerMissing = SRErrorCode(
        name: "ConfigServerMissing", number: 102, description: "The request is missing the server parameter")
    /// 105: `Rootdev`.
    public static let rootdev = SRErrorCode(
        name: "Rootdev", number: 105, description: "Root system device, cannot be used for VM storage")
    /// 107: `ConfigSCSIid`.
    public static let configSCSIid = SRErrorCode(
        name: "ConfigSCSIid", number: 107, description: "The SCSIid parameter is missing or incorrect")
    /// 108: `NFSTarget`.
    public static let nfsTarget = SRErrorCode(
        name: "NFSTarget", number: 108, description: "Unable to detect an NFS service on this target.")
    /// 109: `SnapshotChainTooLong`.
    public static let snapshotChainTooLong = SRErrorCode(
        name: "SnapshotChainTooLong", number: 109, description: "The snapshot chain is too long")
    /// 110: `VDIResize`, the default code of a failed `vdi_resize` or `vdi_resize_online`.
    public static let vdiResize = SRErrorCode(name: "VDIResize", number: 110, description: "VDI resize failed")
    /// 115: `ConfigParamsMissing`.
    public static let configParamsMissing = SRErrorCode(
        name: "ConfigParamsMissing", number: 115, description: "Not all required parameters specified.")
    /// 117: `LVMRead`.
    public static let lvmRead = SRErrorCode(name: "LVMRead", number: 117, description: "Logical Volume read error")
    /// 141: `ISCSITarget`.
    public static let iscsiTarget = SRErrorCode(
        name: "ISCSITarget", number: 141, description: "Unable to connect to ISCSI service on target")

    // MARK: Requests and the toolstack

    /// 143: `BadRequest`: the request could not be parsed, or names an unknown command.
    public static let badRequest = SRErrorCode(
        name: "BadRequest", number: 143, description: "Failed to parse the request")
    /// 144: `VDIMissing`; xapi raises `VDI_MISSING`.
    public static let vdiMissing = SRErrorCode(
        name: "VDIMissing", number: 144, description: "VDI could not be found")
    /// 154: `APIProtocolError`.
    public static let apiProtocolError = SRErrorCode(
        name: "APIProtocolError", number: 154, description: "A protocol error was received when accessing the API")

    // MARK: Provisioning and metadata

    /// 180: `LVMProvisionAttach`.
    public static let lvmProvisionAttach = SRErrorCode(
        name: "LVMProvisionAttach", number: 180,
        description:
            "Volume Group out of space. The SR is over-provisioned, and out of space. Unable to grow the underlying volume to accommodate the virtual size of the disk."
    )
    /// 181: `MetadataError`.
    public static let metadataError = SRErrorCode(
        name: "MetadataError", number: 181, description: "Error in Metadata volume operation for SR.")

    // MARK: Catch-alls

    /// 200: `EIO`.
    public static let eio = SRErrorCode(name: "EIO", number: 200, description: "General IO error")
    /// 202: `SMGeneral`, the default code of a failed command without one of its own.
    public static let smGeneral = SRErrorCode(name: "SMGeneral", number: 202, description: "General backend error")
    /// 203: `FistPoint`.
    public static let fistPoint = SRErrorCode(
        name: "FistPoint", number: 203,
        description: "An active FIST point was reached that causes the process to exit abnormally")

    // MARK: Datapath

    /// 445: `TapdiskAlreadyRunning`.
    public static let tapdiskAlreadyRunning = SRErrorCode(
        name: "TapdiskAlreadyRunning", number: 445, description: "The tapdisk is already running")
    /// 447: `IllegalXMLChar`: a label or description holds a character XML cannot carry.
    public static let illegalXMLChar = SRErrorCode(
        name: "IllegalXMLChar", number: 447, description: "Illegal XML character.")
    /// 453: `TapdiskFailed`.
    public static let tapdiskFailed = SRErrorCode(
        name: "TapdiskFailed", number: 453, description: "tapdisk experienced an error")

    // MARK: Changed-block tracking

    /// 457: `CBTActivateFailed`.
    public static let cbtActivateFailed = SRErrorCode(
        name: "CBTActivateFailed", number: 457, description: "Unable to activate changed block tracking.")
    /// 458: `CBTDeactivateFailed`.
    public static let cbtDeactivateFailed = SRErrorCode(
        name: "CBTDeactivateFailed", number: 458, description: "Unable to deactivate changed block tracking.")
    /// 459: `CBTMetadataInconsistent`.
    public static let cbtMetadataInconsistent = SRErrorCode(
        name: "CBTMetadataInconsistent", number: 459,
        description: "Changed block tracking log is in an inconsistent state.")
    /// 460: `CBTChangedBlocksError`.
    public static let cbtChangedBlocksError = SRErrorCode(
        name: "CBTChangedBlocksError", number: 460, description: "Failed to calculate changed blocks for given VDIs.")

    // MARK: File systems

    /// 461: `SharedFileSystemNoWrite`.
    public static let sharedFileSystemNoWrite = SRErrorCode(
        name: "SharedFileSystemNoWrite", number: 461, description: "The file system for SR cannot be written to.")
    /// 462: `WipefsFailure`.
    public static let wipefsFailure = SRErrorCode(
        name: "WipefsFailure", number: 462, description: "Failed to wipe pre-existing filesystem signature.")

    /// 1200: `GenericException`: SM's code for an exception no handler translated.
    public static let genericException = SRErrorCode(
        name: "GenericException", number: 1200, description: "SM has thrown a generic python exception")

    // MARK: Lookup

    /// Every code of the catalogue, in number order.
    public static let all: [SRErrorCode] = [
        invalidArg, srInUse, vdiInUse, lockErr, unimplemented, srNotEmpty, srScan, srExists, vdiExists, srNoSpace,
        vdiUnavailable, srUnavailable, srUnknownType, lvmCreate, lvmMount, lvmMaster, fileSRCreate, vdiLoad, vdiType,
        iscsiLogin, nfsVersion, nfsMount, vdiCreate, vdiSize, vdiDelete, vdiClone, vdiSnapshot, configDeviceMissing,
        configLocationMissing, configTargetMissing, configTargetIQNMissing, configServerPathMissing,
        configServerMissing, rootdev, configSCSIid, nfsTarget, snapshotChainTooLong, vdiResize, configParamsMissing,
        lvmRead, iscsiTarget, badRequest, vdiMissing, apiProtocolError, lvmProvisionAttach, metadataError, eio,
        smGeneral, fistPoint, tapdiskAlreadyRunning, illegalXMLChar, tapdiskFailed, cbtActivateFailed,
        cbtDeactivateFailed, cbtMetadataInconsistent, cbtChangedBlocksError, sharedFileSystemNoWrite, wipefsFailure,
        genericException,
    ].followed(by: driverFamilies)

    private static let byName: [String: SRErrorCode] = Dictionary(
        all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    private static let byNumber: [Int32: SRErrorCode] = Dictionary(
        all.map { ($0.number, $0) }, uniquingKeysWith: { first, _ in first })

    /// The code SM raises by `name` (`"VDIMissing"`), or nil when the catalogue has no such key.
    /// Keys are case-sensitive, as in SM's `XenError`.
    public static func named(_ name: String) -> SRErrorCode? {
        byName[name]
    }

    /// The code with fault number `number`, or nil when the catalogue has none.
    public static func numbered(_ number: Int32) -> SRErrorCode? {
        byNumber[number]
    }

    /// The code SM reports when `command` fails with an error no handler translated (a failed
    /// tool, an internal exception): `SRCommand.EXCEPTION_TYPE`, else `SMGeneral`.
    ///
    /// `sr_scan` → 40, `vdi_init` → 65, `vdi_create` → 78, `vdi_delete` → 80,
    /// `vdi_attach`/`detach`/`activate`/`deactivate` → 46, `vdi_resize`/`resize_online` → 110,
    /// `vdi_snapshot` → 82, `vdi_clone` → 81, anything else → 202.
    public static func forFailedCommand(_ command: String) -> SRErrorCode {
        switch command {
        case "sr_scan": return .srScan
        case "vdi_init": return .vdiLoad
        case "vdi_create": return .vdiCreate
        case "vdi_delete": return .vdiDelete
        case "vdi_attach", "vdi_detach", "vdi_activate", "vdi_deactivate": return .vdiUnavailable
        case "vdi_resize", "vdi_resize_online": return .vdiResize
        case "vdi_snapshot": return .vdiSnapshot
        case "vdi_clone": return .vdiClone
        default: return .smGeneral
        }
    }
}
