import Testing

@testable import SM

/// The catalogue against SMAPI.md §3 (XE_SR_ERRORCODES), row by row.
@Suite struct SRErrorCodeTests {
    /// Every row of the reference's table: number, name, description (verbatim).
    static let documented: [(Int32, String, String)] = [
        (1, "InvalidArg", "Invalid argument"),
        (16, "SRInUse", "The SR device is currently in use"),
        (24, "VDIInUse", "The VDI is currently in use"),
        (37, "LockErr", "The lock/unlock request failed"),
        (38, "Unimplemented", "The requested method is not supported/implemented"),
        (39, "SRNotEmpty", "The SR is not empty"),
        (40, "SRScan", "The SR scan failed "),
        (42, "SRExists", "The SR already exists"),
        (43, "VDIExists", "The VDI already exists"),
        (44, "SRNoSpace", "There is insufficient space"),
        (46, "VDIUnavailable", "The VDI is not available"),
        (47, "SRUnavailable", "The SR is not available"),
        (48, "SRUnknownType", "Unknown repository type"),
        (50, "LVMCreate", "Logical Volume creation error"),
        (52, "LVMMount", "Logical Volume mount/activate error"),
        (58, "LVMMaster", "Logical Volume request must come from master"),
        (61, "FileSRCreate", "File SR creation error"),
        (65, "VDILoad", "Failed to load VDI"),
        (66, "VDIType", "Invalid VDI type"),
        (
            68, "ISCSILogin",
            "ISCSI login failed - check access settings for the initiator on the storage, if CHAP is used verify CHAP credentials"
        ),
        (72, "NFSVersion", "Required NFS server version unsupported"),
        (73, "NFSMount", "NFS mount error"),
        (78, "VDICreate", "VDI Creation failed"),
        (79, "VDISize", "VDI Invalid size"),
        (80, "VDIDelete", "Failed to mark VDI hidden"),
        (81, "VDIClone", "Failed to clone VDI"),
        (82, "VDISnapshot", "Failed to snapshot VDI"),
        (90, "ConfigDeviceMissing", "The request is missing the device parameter"),
        (94, "ConfigLocationMissing", "The request is missing the location parameter"),
        (95, "ConfigTargetMissing", "The request is missing the target parameter"),
        (96, "ConfigTargetIQNMissing", "The request is missing or has an incorrect target IQN parameter"),
        (101, "ConfigServerPathMissing", "The request is missing the serverpath parameter"),
        (102, "ConfigServerMissing", "The request is missing the server parameter"),
        (105, "Rootdev", "Root system device, cannot be used for VM storage"),
        (107, "ConfigSCSIid", "The SCSIid parameter is missing or incorrect"),
        (108, "NFSTarget", "Unable to detect an NFS service on this target."),
        (109, "SnapshotChainTooLong", "The snapshot chain is too long"),
        (110, "VDIResize", "VDI resize failed"),
        (115, "ConfigParamsMissing", "Not all required parameters specified."),
        (117, "LVMRead", "Logical Volume read error"),
        (141, "ISCSITarget", "Unable to connect to ISCSI service on target"),
        (143, "BadRequest", "Failed to parse the request"),
        (144, "VDIMissing", "VDI could not be found"),
        (154, "APIProtocolError", "A protocol error was received when accessing the API"),
        (
            180, "LVMProvisionAttach",
            "Volume Group out of space. The SR is over-provisioned, and out of space. Unable to grow the underlying volume to accommodate the virtual size of the disk."
        ),
        (181, "MetadataError", "Error in Metadata volume operation for SR."),
        (200, "EIO", "General IO error"),
        (202, "SMGeneral", "General backend error"),
        (203, "FistPoint", "An active FIST point was reached that causes the process to exit abnormally"),
        (445, "TapdiskAlreadyRunning", "The tapdisk is already running"),
        (447, "IllegalXMLChar", "Illegal XML character."),
        (453, "TapdiskFailed", "tapdisk experienced an error"),
        (457, "CBTActivateFailed", "Unable to activate changed block tracking."),
        (458, "CBTDeactivateFailed", "Unable to deactivate changed block tracking."),
        (459, "CBTMetadataInconsistent", "Changed block tracking log is in an inconsistent state."),
        (460, "CBTChangedBlocksError", "Failed to calculate changed blocks for given VDIs."),
        (461, "SharedFileSystemNoWrite", "The file system for SR cannot be written to."),
        (462, "WipefsFailure", "Failed to wipe pre-existing filesystem signature."),
        (1200, "GenericException", "SM has thrown a generic python exception"),
    ]

    @Test func everyDocumentedCodeIsInTheCatalogueWithItsNumberAndDescription() throws {
        for (number, name, description) in Self.documented {
            let code = try #require(SRErrorCode.named(name), "\(name) missing")
            #expect(code.number == number, "\(name)")
            #expect(code.description == description, "\(name)")
            #expect(SRErrorCode.numbered(number) == code)
        }
        #expect(SRErrorCode.all.count == Self.documented.count + SRErrorCode.driverFamilies.count)
    }

    /// The driver families come from the upstream XML, verbatim.
    @Test func driverFamilyCodesCarryTheUpstreamDescriptions() throws {
        #expect(SRErrorCode.named("ConfigDeviceInvalid")?.number == 91)
        #expect(SRErrorCode.named("ConfigDeviceInvalid")?.description == "The device is not a valid path")
        #expect(SRErrorCode.named("FileSRRmDir")?.number == 62)
        #expect(SRErrorCode.named("LVMUnMount")?.description == "Logical Volume unmount/deactivate error")
    }

    @Test func catalogueHasUniqueNamesAndNumbersInNumberOrder() {
        let all = SRErrorCode.all
        #expect(Set(all.map(\.name)).count == all.count)
        #expect(Set(all.map(\.number)).count == all.count)
        #expect(all.map(\.number) == all.map(\.number).sorted())
    }

    @Test func constantsMatchTheirCatalogueNames() {
        #expect(SRErrorCode.vdiMissing.name == "VDIMissing" && SRErrorCode.vdiMissing.number == 144)
        #expect(SRErrorCode.srInUse.number == 16)
        #expect(SRErrorCode.vdiInUse.number == 24)
        #expect(SRErrorCode.unimplemented.number == 38)
        #expect(SRErrorCode.srNotEmpty.number == 39)
        #expect(SRErrorCode.configDeviceMissing.number == 90)
        #expect(SRErrorCode.badRequest.number == 143)
    }

    @Test func lookupIsCaseSensitiveAsSMs() {
        #expect(SRErrorCode.named("vdimissing") == nil)
        #expect(SRErrorCode.named("") == nil)
        #expect(SRErrorCode.numbered(9999) == nil)
    }

    @Test(
        arguments: [
            ("sr_scan", 40), ("vdi_init", 65), ("vdi_create", 78), ("vdi_delete", 80), ("vdi_attach", 46),
            ("vdi_detach", 46), ("vdi_activate", 46), ("vdi_deactivate", 46), ("vdi_resize", 110),
            ("vdi_resize_online", 110), ("vdi_snapshot", 82), ("vdi_clone", 81), ("sr_create", 202),
            ("vdi_update", 202), ("nonsense", 202),
        ] as [(String, Int32)])
    func failedCommandsGetSMsDefaultCodes(command: String, number: Int32) {
        #expect(SRErrorCode.forFailedCommand(command).number == number)
    }
}
