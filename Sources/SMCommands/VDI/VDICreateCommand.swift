import ArgumentParser
import SM

/// `sm vdi-create`: a new, empty VDI.
struct VDICreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vdi-create", abstract: "Create an empty VDI.",
        discussion: """
            Parameters: virtual-size= (10GiB, 512MiB, bytes; rounded up to 2 MiB), sr= (uuid or \
            name-label; optional when one SR is attached), name-label=, name-description=, \
            type=vhd (the default, thin) or raw, uuid= (default: a new one). Prints the VDI's uuid.
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    func run() throws {
        let given = try Parameters(
            parameters, keys: ["sr", "sr-uuid", "name-label", "name-description", "virtual-size", "type", "uuid"])
        guard let size = try given.size("virtual-size") else {
            throw ValidationError("missing parameter virtual-size=…")
        }
        var request = SREngine.NewVDI(size: size)
        request.uuid = given["uuid"]
        request.nameLabel = given["name-label"] ?? ""
        request.nameDescription = given["name-description"] ?? ""
        request.volumeType = try VDIOptions.volumeType(given["type"])
        let context = CLIContext()
        let entry = try context.registry.find(given["sr"] ?? given["sr-uuid"])
        let record = try context.withEngine(entry) { host, engine in try host.createVDI(engine, request) }
        if output.json { try Output.json(record) } else { print(record.uuid) }
    }
}

/// Option values shared by the VDI commands.
enum VDIOptions {
    static func volumeType(_ text: String?) throws -> VDIRecord.VolumeType {
        switch text ?? "vhd" {
        case "vhd": return .vhd
        case "raw", "aio": return .raw
        default: throw ValidationError("type=\(text ?? "") must be vhd or raw")
        }
    }

    static func snapshotType(_ text: String?) throws -> SREngine.SnapshotType {
        guard let text else { return .double }
        guard let type = SREngine.SnapshotType(rawValue: text) else {
            throw ValidationError("type=\(text) must be single, double or internal")
        }
        return type
    }
}
