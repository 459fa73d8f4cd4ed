import Glibc
import Foundation
import TestSupport
import Testing

/// Issue 8, finding 1: an export never lands inside an SR. `vdi-export` into the SR's own
/// volume truncated the VDI while reading it, and into `sm-metadata.json` overwrote the SR's
/// records. Every spelling of such a target (the path, a symbolic link, a hard link kept
/// elsewhere, `..`) is refused before anything is written, and the SR keeps its data.
@Suite(.enabled(if: CLIHarness.binary != nil, "sm is not built next to the tests"))
struct OutputGuardTests {
    /// An SR with one VDI holding a pattern; (cli, sr, its directory, vdi, the VDI's bytes).
    func populated() async throws -> (CLIHarness, String, String, String, Data) {
        let cli = try CLIHarness()
        let sr = try await cli.createSR()
        let raw = try await cli.rawFile("in.raw", size: 4 << 20, data: [(0, 0x5a, 512 << 10), (3 << 20, 0xa5, 4096)])
        let vdi = try await cli.ok("vdi-import", "sr-uuid=\(sr)", "filename=\(raw)", "name-label=disk")
        return (cli, sr, cli.srParent + "/" + sr, vdi, try await cli.contents(raw))
    }

    func exported(_ cli: CLIHarness, _ vdi: String) async throws -> Data {
        let path = cli.path("check-\(UUID().uuidString).raw")
        try await cli.ok("vdi-export", "uuid=\(vdi)", "filename=\(path)", "format=raw")
        return try await cli.contents(path)
    }

    func files(_ directory: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            result[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        }
        return result
    }

    @Test func exportOverTheVDIsOwnVolumeIsRefusedAndLosesNothing() async throws {
        let (cli, _, directory, vdi, image) = try await populated()
        let before = try files(directory)
        for format in ["vhd", "raw"] {
            let result = try await cli.run(["vdi-export", "uuid=\(vdi)", "filename=\(directory)/\(vdi).vhd", "format=\(format)"])
            #expect(result.status != 0)
            #expect(result.errorOutput.contains("refusing to write"), "\(result)")
        }
        #expect(try files(directory) == before)
        #expect(try await exported(cli, vdi) == image)
    }

    @Test func exportOverTheSRsMetadataOrIntoItsDirectoryIsRefused() async throws {
        let (cli, sr, directory, vdi, image) = try await populated()
        let before = try files(directory)
        let targets = [
            "\(directory)/sm-metadata.json", "\(directory)/sm-metadata.json.prev", "\(directory)/new-file.vhd",
            "\(directory)/../\(sr)/sm-metadata.json",
        ]
        for target in targets {
            let result = try await cli.run(["vdi-export", "uuid=\(vdi)", "filename=\(target)", "format=vhd"])
            #expect(result.status != 0, "\(target): \(result)")
            #expect(result.errorOutput.contains("SR \(sr)"), "\(result)")
        }
        #expect(try files(directory) == before, "nothing in the SR changed or was added")
        #expect(try await exported(cli, vdi) == image)
    }

    @Test func linksIntoTheSRAreRefusedByIdentity() async throws {
        let (cli, _, directory, vdi, image) = try await populated()
        let symbolic = cli.path("symbolic.vhd")
        try FileManager.default.createSymbolicLink(atPath: symbolic, withDestinationPath: "\(directory)/\(vdi).vhd")
        let hard = cli.path("hard.vhd")
        try FileManager.default.linkItem(atPath: "\(directory)/\(vdi).vhd", toPath: hard)
        let intoDirectory = cli.path("sr-link")
        try FileManager.default.createSymbolicLink(atPath: intoDirectory, withDestinationPath: directory)
        let before = try files(directory)
        for target in [symbolic, hard, intoDirectory + "/elsewhere.raw", intoDirectory + "/sm-metadata.json"] {
            let result = try await cli.run(["vdi-export", "uuid=\(vdi)", "filename=\(target)", "format=raw"])
            #expect(result.status != 0, "\(target): \(result)")
            #expect(result.errorOutput.contains("refusing to write"), "\(result)")
        }
        #expect(try files(directory) == before)
        #expect(try await exported(cli, vdi) == image)
    }

    @Test func importOfAVDIsOwnVolumeIntoItselfIsRefused() async throws {
        let (cli, _, directory, vdi, image) = try await populated()
        let result = try await cli.run(["vdi-import", "uuid=\(vdi)", "filename=\(directory)/\(vdi).vhd"])
        #expect(result.status != 0)
        #expect(result.errorOutput.contains("own volume"), "\(result)")
        #expect(try await exported(cli, vdi) == image)
    }

    @Test func anExportOutsideReplacesTheFileAsBefore() async throws {
        let (cli, _, _, vdi, image) = try await populated()
        let path = cli.path("out.raw")
        FileManager.default.createFile(atPath: path, contents: Data(repeating: 0xee, count: 8 << 20))
        try await cli.ok("vdi-export", "uuid=\(vdi)", "filename=\(path)", "format=raw")
        #expect(try await cli.contents(path) == image)
    }

    /// An ext SR on a device (here a file, loop-mounted): exporting over that file or over
    /// the loop device destroyed the whole SR; both are refused as the storage the SR lives on.
    @Test(.enabled(if: getuid() == 0 && Tool.isAvailable("mkfs.ext4") && Tool.isAvailable("losetup"), "needs root"))
    func anExportOverTheStorageUnderAnSRIsRefused() async throws {
        let cli = try CLIHarness()
        let image = cli.path("disk.img")
        #expect(FileManager.default.createFile(atPath: image, contents: nil))
        #expect(truncate(image, 64 << 20) == 0)
        let sr = try await cli.ok("sr-create", "device-config:device=\(image)", "name-label=on-a-device")
        defer { _ = try? Tool(name: "sm", path: CLIHarness.binary ?? "").run(["sr-detach", "uuid=\(sr)"], environment: cli.environment) }
        let raw = try cli.rawFile("in.raw", size: 4 << 20, data: [(0, 0x3c, 64 << 10)])
        let vdi = try await cli.ok("vdi-import", "sr-uuid=\(sr)", "filename=\(raw)")
        let loops = try await Tool.require("losetup").run(["-n", "-O", "NAME", "-j", image]).requireSuccess().output
        let loop = try #require(loops.split(separator: "\n").first.map(String.init))
        let before = try Data(contentsOf: URL(fileURLWithPath: image))
        for target in [image, loop] {
            let result = try await cli.run(["vdi-export", "uuid=\(vdi)", "filename=\(target)", "format=raw"])
            #expect(result.status != 0, "\(target): \(result)")
            #expect(result.errorOutput.contains("the storage SR \(sr) lives on"), "\(result)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: image)).count == before.count)
        let path = cli.path("check.raw")
        try await cli.ok("vdi-export", "uuid=\(vdi)", "filename=\(path)", "format=raw")
        #expect(try cli.contents(path) == cli.contents(raw))
    }
}
