import ArgumentParser
import SM

/// `sm sr-create`: makes an SR on a directory or a device, attaches it and registers it.
struct SRCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sr-create",
        abstract: "Create an SR, attach it and remember it on this host.",
        discussion: """
            Parameters: type=ext (the default) and either device-config:path=<existing directory> \
            (the SR becomes <directory>/<uuid>; no root needed) or device-config:device=<block device \
            or image file> (formatted ext4 and mounted under the mount base); name-label=, \
            name-description=, uuid= (default: a new one). Prints the new SR's uuid.
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    func run() throws {
        let given = try Parameters(
            parameters, keys: ["type", "name-label", "name-description", "uuid"], mapPrefixes: ["device-config:"])
        let context = CLIContext()
        let type = given["type"] ?? "ext"
        let host = try context.host(type: type)
        let uuid = given["uuid"] ?? Identifier.newUUID()
        if try context.registry.entries().contains(where: { $0.uuid == uuid }) {
            throw CLIError("SR \(uuid) is already known on this host")
        }
        let config = given.map("device-config:")
        let record = try host.createSR(
            uuid: uuid, deviceConfig: config, nameLabel: given["name-label"] ?? "",
            nameDescription: given["name-description"] ?? "")
        var entry = SRRegistry.Entry(
            uuid: uuid, type: type, nameLabel: record.nameLabel, nameDescription: record.nameDescription,
            deviceConfig: config, attached: false)
        var attachError: (any Error)?
        do {
            try host.attachSR(uuid: uuid, deviceConfig: config)
            entry.attached = true
        } catch {
            attachError = error
        }
        try context.registry.update { $0.append(entry) }
        if let attachError { throw attachError }
        if output.json { try Output.json(entry) } else { print(uuid) }
    }
}
