import Foundation
import TestSupport

/// The external tools the interop tests run, with the few commands each test needs.
enum Tools {
    static let qemuImg = Tool.find("qemu-img")
    static let qemuIO = Tool.find("qemu-io")
    static let vhdiinfo = Tool.find("vhdiinfo")
    static let vhdimount = Tool.find("vhdimount")
    static let umount = Tool.find("umount")

    /// Our own `vhd-util`, built next to the test bundle by `swift build --build-tests`.
    static let vhdUtil: Tool? = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let path = directory + "/vhd-util"
        return FileManager.default.isExecutableFile(atPath: path) ? Tool(name: "vhd-util", path: path) : nil
    }()

    static var haveQemu: Bool { qemuImg != nil && qemuIO != nil }
    static var haveLibvhdi: Bool { vhdiinfo != nil }
    /// vhdimount needs FUSE: the tool, the device, and `umount` to undo it.
    static var haveFuse: Bool {
        vhdimount != nil && umount != nil && FileManager.default.fileExists(atPath: "/dev/fuse")
    }
    static let missingQemu = "qemu-img/qemu-io not installed (scripts/test installs qemu-utils)"
    static let missingLibvhdi = "vhdiinfo not installed (scripts/test installs libvhdi-utils)"
    static let missingFuse = "vhdimount needs FUSE: /dev/fuse, vhdimount (libvhdi-utils) and umount; skipped"
}

/// `qemu-img` subcommands.
enum QemuImg {
    /// The part of `qemu-img info --output=json` the tests read.
    struct Info: Decodable {
        var format: String
        var virtualSize: UInt64

        enum CodingKeys: String, CodingKey {
            case format
            case virtualSize = "virtual-size"
        }
    }

    static func tool() throws -> Tool { try Tool.require("qemu-img") }

    static func info(_ path: String) async throws -> Info {
        try await tool().run(["info", "-f", "vpc", "--output=json", path]).requireSuccess().json(Info.self)
    }

    /// Runs `qemu-img check -f vpc` and returns nil when it found nothing wrong, else its output.
    ///
    /// QEMU's vpc driver has no check callback: qemu-img 7.2 prints "This image format does not
    /// support checks" and exits 63 for every vpc image. That specific outcome means "no errors
    /// found" here, since the image opened (a bad one fails to open first, exit 1); any other
    /// non-zero exit is a finding.
    static func check(_ path: String) async throws -> String? {
        let result = try await tool().run(["check", "-f", "vpc", path])
        if result.succeeded { return nil }
        if result.status == 63 && result.errorOutput.contains("does not support checks") { return nil }
        return result.description
    }

    /// Converts the vpc image at `path` into the raw file `rawPath`.
    static func convertToRaw(_ path: String, _ rawPath: String) async throws {
        try await tool().run(["convert", "-f", "vpc", "-O", "raw", path, rawPath]).requireSuccess()
    }

    /// Creates a vpc image with qemu's own layout (`-o subformat=…[,force_size=on]`).
    static func create(_ path: String, size: String, fixed: Bool, forceSize: Bool) async throws {
        let options = "subformat=" + (fixed ? "fixed" : "dynamic") + (forceSize ? ",force_size=on" : "")
        try await tool().run(["create", "-q", "-f", "vpc", "-o", options, path, size]).requireSuccess()
    }
}

/// `qemu-io` commands.
enum QemuIO {
    /// Runs one qemu-io command (`write -P 0x5a 1M 64k`) on the vpc image at `path`.
    static func run(_ command: String, on path: String) async throws {
        try await Tool.require("qemu-io").run(["-f", "vpc", "-c", command, path]).requireSuccess()
    }
}

/// libvhdi's `vhdiinfo`, parsed by label (never by position).
enum VHDIInfo {
    /// The "label : value" lines of `vhdiinfo`'s report, labels trimmed.
    static func fields(_ path: String) async throws -> [String: String] {
        let result = try await Tool.require("vhdiinfo").run([path]).requireSuccess()
        var fields: [String: String] = [:]
        for line in result.output.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let label = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if !label.isEmpty { fields[label] = value }
        }
        return fields
    }

    /// The byte count in a "Media size : 40 KiB (41472 bytes)" value.
    static func bytes(in value: String?) -> UInt64? {
        guard let value, let open = value.lastIndex(of: "("), let space = value[open...].firstIndex(of: " ") else {
            return nil
        }
        return UInt64(value[value.index(after: open)..<space])
    }
}
