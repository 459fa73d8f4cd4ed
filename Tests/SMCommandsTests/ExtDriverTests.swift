import Foundation
import SM
import TestSupport
import Testing

@testable import ExtDriver

/// The ext driver called directly: device-config parsing, directory SRs, the superblock reader.
@Suite struct ExtDriverTests {
    @Test func deviceConfigNeedsExactlyOneAbsoluteLocation() async throws {
        #expect(throws: SRError(.configDeviceMissing)) { try ExtLocation(deviceConfig: [:]) }
        #expect(throws: SRError(.configDeviceMissing)) {
            try ExtLocation(deviceConfig: ["SRmaster": "true", "device": ""])
        }
        #expect(try ExtLocation(deviceConfig: ["path": "/srv//sr/"]) == .directory("/srv/sr"))
        #expect(try ExtLocation(deviceConfig: ["device": "/dev/sdb"]) == .device("/dev/sdb"))
        for config in [["path": "a", "device": "/dev/sdb"], ["path": "relative"], ["device": "/dev/a,/dev/b"]] {
            #expect(throws: SRError.self) { try ExtLocation(deviceConfig: config) }
        }
        let both = #expect(throws: SRError.self) {
            try ExtLocation(deviceConfig: ["path": "/a", "device": "/dev/sdb"])
        }
        #expect(both?.code.number == 1 /* InvalidArg */)
    }

    @Test func driverInfoIsEXTSRs() async {
        let driver = ExtDriver(mountBase: "/unused")
        #expect(driver.typeName == "ext" && driver.pluginName == "EXTSR" && driver.contentType == "vhd")
        #expect(driver.info.name == "Local EXT3 VHD")
        #expect(driver.info.capabilities.count == 20)
        #expect(driver.info.has("VDI_RESET_ON_BOOT") && driver.info.has("SR_PROBE") && !driver.info.has("SR_TRIM"))
        #expect(driver.info.configuration == [.init("device", "local device path (required) (e.g. /dev/sda3)")])
    }

    @Test func directorySRsLiveInAUUIDSubdirectory() async throws {
        let directory = try TemporaryDirectory(prefix: "ext-driver")
        let driver = ExtDriver(mountBase: directory.path(for: "mnt"))
        let config = ["path": directory.path]
        let sr = Identifier.newUUID()
        let missing = #expect(throws: SRError.self) {
            try driver.create(srUUID: sr, deviceConfig: ["path": directory.path(for: "nope")])
        }
        #expect(missing?.code.number == 61 /* FileSRCreate */)
        #expect(
            #expect(throws: SRError.self) { try driver.attach(srUUID: sr, deviceConfig: config) }?.code
                == .srUnavailable)
        let storage = try driver.create(srUUID: sr, deviceConfig: config)
        #expect(storage.container.name == directory.path(for: sr))
        _ = try SREngine.create(
            sr: SRRecord(uuid: sr, nameLabel: "n&<me>", type: "ext"), container: storage.container,
            metadataStore: storage.metadataStore, journal: storage.journal)
        #expect(
            #expect(throws: SRError.self) { try driver.create(srUUID: sr, deviceConfig: config) }?.code.number == 42 /* SRExists */)
        #expect(try driver.attach(srUUID: sr, deviceConfig: config).container.name == storage.container.name)
        let probe = try driver.probe(deviceConfig: config, smConfig: ["metadata": "true"])
        #expect(probe.contains("\t\t<UUID>\(sr)</UUID>\n\t\t<Devlist>\(directory.path)</Devlist>\n"))
        #expect(probe.contains("<name_label>n&amp;&lt;me&gt;</name_label>"))
        try driver.detach(srUUID: sr, deviceConfig: config)
        try driver.delete(srUUID: sr, deviceConfig: config)
        #expect(!FileManager.default.fileExists(atPath: directory.path(for: sr)))
        #expect(try driver.probe(deviceConfig: config, smConfig: [:]) == "<?xml version=\"1.0\" ?>\n<SRlist/>\n")
    }

    @Test(arguments: ["../x", "a/b", "", "13C4384E-897B-E745-6B3E-9A89C06537BE"])
    func hostileSRUUIDsAreRefusedBeforeAnyPath(uuid: String) async throws {
        let directory = try TemporaryDirectory(prefix: "ext-driver")
        let driver = ExtDriver(mountBase: directory.path(for: "mnt"))
        let error = #expect(throws: SRError.self) {
            try driver.create(srUUID: uuid, deviceConfig: ["path": directory.path])
        }
        #expect(error?.code.number == 1 /* InvalidArg */)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test(.enabled(if: Tool.isAvailable("mkfs.ext4"), "needs mkfs.ext4"))
    func theSuperblockGivesTheSRUUIDLabelAndSize() async throws {
        let directory = try TemporaryDirectory(prefix: "ext-superblock")
        let image = directory.path(for: "fs.img")
        #expect(FileManager.default.createFile(atPath: image, contents: Data(count: 0)))
        #expect(truncate(image, 64 << 20) == 0)
        let uuid = Identifier.newUUID()
        try await Tool.require("mkfs.ext4").run(["-F", "-q", "-L", ExtSuperblock.srLabel, "-U", uuid, image]).requireSuccess()
        let (superblock, size) = try ExtSuperblock.read(device: image)
        #expect(superblock?.uuid == uuid && superblock?.label == "XSLocalEXT" && superblock?.byteCount == 64 << 20)
        #expect(size == 64 << 20)
        let probe = try ExtDriver(mountBase: directory.path(for: "mnt")).probe(
            deviceConfig: ["device": image], smConfig: [:])
        #expect(
            probe
                == "<?xml version=\"1.0\" ?>\n<SRlist>\n\t<SR>\n\t\t<UUID>\(uuid)</UUID>\n\t\t<Devlist>\(image)</Devlist>\n\t\t<size>\(64 << 20)</size>\n\t</SR>\n</SRlist>\n"
        )
        var zeros = [UInt8](repeating: 0, count: 1024)
        #expect(ExtSuperblock(decoding: zeros) == nil)
        zeros[0x38] = 0x53
        zeros[0x39] = 0xEF
        zeros[0x18] = 200
        #expect(ExtSuperblock(decoding: zeros) == nil, "an absurd block size is no file system")
        #expect(ExtSuperblock(decoding: Array(zeros.prefix(100))) == nil)
    }
}
