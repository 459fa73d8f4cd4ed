import SM

/// The ext driver (`EXTSR`, SR type `ext`): VHD files on a local ext4 file system, either one
/// `sr_create` makes on a device, or an existing directory (see `ExtLocation`). It is data plus
/// probe/attach; every VDI operation is the generic `SREngine` over the SR's directory.
public struct ExtDriver: SRDriver {
    /// Where device SRs are mounted while attached: `<mountBase>/<sr_uuid>` (SM's
    /// `/var/run/sr-mount`; `HostPaths` reads `SM_MOUNT_BASE`).
    public let mountBase: String

    public init(mountBase: String) {
        self.mountBase = mountBase
    }

    /// The driver with the host's mount base.
    public static func fromEnvironment(_ paths: HostPaths = .fromEnvironment()) -> ExtDriver {
        ExtDriver(mountBase: paths.mountBase)
    }

    public var typeName: String { "ext" }

    /// EXTSR's `DRIVER_INFO`, verbatim (xapi-project/sm `drivers/EXTSR.py`).
    public var info: DriverInfo { Self.driverInfo }

    public static let driverInfo = DriverInfo(
        name: "Local EXT3 VHD",
        description:
            "SR plugin which represents disks as VHD files stored on a local EXT3 filesystem, created inside an LVM volume",
        vendor: "Citrix Systems Inc",
        copyright: "(C) 2008 Citrix Systems Inc",
        capabilities: [
            "SR_PROBE", "SR_UPDATE", "SR_SUPPORTS_LOCAL_CACHING", "VDI_CREATE", "VDI_DELETE", "VDI_ATTACH",
            "VDI_DETACH", "VDI_UPDATE", "VDI_CLONE", "VDI_SNAPSHOT", "VDI_RESIZE", "VDI_MIRROR", "VDI_GENERATE_CONFIG",
            "VDI_RESET_ON_BOOT/2", "ATOMIC_PAUSE", "VDI_CONFIG_CBT", "VDI_ACTIVATE", "VDI_DEACTIVATE",
            "THIN_PROVISIONING", "VDI_READ_CACHING",
        ],
        configuration: [.init("device", "local device path (required) (e.g. /dev/sda3)")])

    public func probe(deviceConfig: [String: String], smConfig: [String: String]) throws(SRError) -> String {
        let includeMetadata = smConfig["metadata"] == "true"
        switch try ExtLocation(deviceConfig: deviceConfig) {
        case .directory(let path):
            return ProbeXML.srList(try ExtDirectorySR(parent: path).probe(includeMetadata: includeMetadata))
        case .device(let device):
            return ProbeXML.srList(try deviceSR(device).probe(includeMetadata: includeMetadata))
        }
    }

    public func create(srUUID: String, deviceConfig: [String: String]) throws(SRError) -> SRStorage {
        try ExtLocation.validate(srUUID: srUUID)
        switch try ExtLocation(deviceConfig: deviceConfig) {
        case .directory(let path): return try ExtDirectorySR(parent: path).create(srUUID: srUUID)
        case .device(let device): return try deviceSR(device).create(srUUID: srUUID)
        }
    }

    public func attach(srUUID: String, deviceConfig: [String: String]) throws(SRError) -> SRStorage {
        try ExtLocation.validate(srUUID: srUUID)
        switch try ExtLocation(deviceConfig: deviceConfig) {
        case .directory(let path): return try ExtDirectorySR(parent: path).storage(srUUID: srUUID)
        case .device(let device): return try deviceSR(device).attach(srUUID: srUUID)
        }
    }

    public func storage(srUUID: String, deviceConfig: [String: String]) throws(SRError) -> SRStorage {
        try ExtLocation.validate(srUUID: srUUID)
        switch try ExtLocation(deviceConfig: deviceConfig) {
        case .directory(let path): return try ExtDirectorySR(parent: path).storage(srUUID: srUUID)
        case .device(let device): return try deviceSR(device).storage(srUUID: srUUID)
        }
    }

    public func detach(srUUID: String, deviceConfig: [String: String]) throws(SRError) {
        try ExtLocation.validate(srUUID: srUUID)
        switch try ExtLocation(deviceConfig: deviceConfig) {
        case .directory: return
        case .device(let device): try deviceSR(device).detach(srUUID: srUUID)
        }
    }

    public func delete(srUUID: String, deviceConfig: [String: String]) throws(SRError) {
        try ExtLocation.validate(srUUID: srUUID)
        switch try ExtLocation(deviceConfig: deviceConfig) {
        case .directory(let path): try ExtDirectorySR(parent: path).delete(srUUID: srUUID)
        case .device(let device): try deviceSR(device).delete(srUUID: srUUID)
        }
    }

    func deviceSR(_ device: String) -> ExtDeviceSR { ExtDeviceSR(device: device, mountBase: mountBase) }
}
