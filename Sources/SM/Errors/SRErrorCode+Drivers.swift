/// The driver families of XE_SR_ERRORCODES (LVM, file SR, NFS, iSCSI and device config), with
/// the upstream XML's descriptions verbatim.
extension SRErrorCode {
    public static let srBadXML = SRErrorCode(name: "SRBadXML", number: 49, description: "Malformed XML string")
    public static let lvmDelete = SRErrorCode(name: "LVMDelete", number: 51, description: "Logical Volume deletion error")
    public static let lvmUnMount = SRErrorCode(
        name: "LVMUnMount", number: 53, description: "Logical Volume unmount/deactivate error")
    public static let lvmWrite = SRErrorCode(name: "LVMWrite", number: 54, description: "Logical Volume write error")
    public static let lvmPartCreate = SRErrorCode(
        name: "LVMPartCreate", number: 55, description: "Logical Volume partition creation error")
    public static let lvmPartInUse = SRErrorCode(
        name: "LVMPartInUse", number: 56, description: "Logical Volume partition in use")
    public static let lvmFilesystem = SRErrorCode(
        name: "LVMFilesystem", number: 57, description: "Logical Volume filesystem creation error")
    public static let lvmResize = SRErrorCode(name: "LVMResize", number: 59, description: "Logical Volume resize failed")
    public static let lvmSize = SRErrorCode(name: "LVMSize", number: 60, description: "Logical Volume invalid size")
    public static let fileSRRmDir = SRErrorCode(
        name: "FileSRRmDir", number: 62, description: "File SR failed to remove directory")
    public static let fileSRDelete = SRErrorCode(name: "FileSRDelete", number: 63, description: "File SR deletion error")
    public static let vdiRemove = SRErrorCode(name: "VDIRemove", number: 64, description: "Failed to remove VDI")
    public static let iscsiDevice = SRErrorCode(name: "ISCSIDevice", number: 67, description: "ISCSI device failed to appear")
    public static let iscsiLogout = SRErrorCode(name: "ISCSILogout", number: 69, description: "ISCSI logout failed")
    public static let nfsUnMount = SRErrorCode(name: "NFSUnMount", number: 74, description: "NFS unmount error")
    public static let nfsAttached = SRErrorCode(
        name: "NFSAttached", number: 75, description: "NFS mount point already attached")
    public static let nfsDelete = SRErrorCode(name: "NFSDelete", number: 76, description: "Failed to remove NFS mount point")
    public static let lvmGroupCreate = SRErrorCode(
        name: "LVMGroupCreate", number: 77, description: "Logical Volume group creation failed")
    public static let iscsiDiscovery = SRErrorCode(name: "ISCSIDiscovery", number: 83, description: "ISCSI discovery failed")
    public static let nfsCreate = SRErrorCode(name: "NFSCreate", number: 88, description: "NFS SR creation error")
    public static let configLUNIDMissing = SRErrorCode(
        name: "ConfigLUNIDMissing", number: 89, description: "The request is missing the LUNid parameter")
    public static let configDeviceInvalid = SRErrorCode(
        name: "ConfigDeviceInvalid", number: 91, description: "The device is not a valid path")
    public static let volNotFound = SRErrorCode(name: "VolNotFound", number: 92, description: "The volume cannot be found")
    public static let configServerPathBad = SRErrorCode(
        name: "ConfigServerPathBad", number: 103, description: "The serverpath argument is not valid")
    public static let invalidIQN = SRErrorCode(
        name: "InvalidIQN", number: 106, description: "The IQN provided is an invalid format")

    /// The driver-family codes, in number order.
    static let driverFamilies: [SRErrorCode] = [
        srBadXML, lvmDelete, lvmUnMount, lvmWrite, lvmPartCreate, lvmPartInUse, lvmFilesystem, lvmResize, lvmSize,
        fileSRRmDir, fileSRDelete, vdiRemove, iscsiDevice, iscsiLogout, nfsUnMount, nfsAttached, nfsDelete,
        lvmGroupCreate, iscsiDiscovery, nfsCreate, configLUNIDMissing, configDeviceInvalid, volNotFound,
        configServerPathBad, invalidIQN,
    ]
}

extension Array where Element == SRErrorCode {
    /// The two lists merged in number order.
    func followed(by other: [SRErrorCode]) -> [SRErrorCode] {
        (self + other).sorted { $0.number < $1.number }
    }
}
