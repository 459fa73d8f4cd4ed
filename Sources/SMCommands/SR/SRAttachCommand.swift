import ArgumentParser
import SM

/// `sm sr-attach`: attaches a known SR, or registers and attaches one found by probe.
struct SRAttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sr-attach", abstract: "Attach an SR on this host (plug its PBD).",
        discussion: """
            Parameters: uuid= (or sr=) of a known SR; or, for an SR this host does not know yet \
            (one sr-probe found), uuid= with type= and its device-config:<key>=<value>.
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "sr", "type"], mapPrefixes: ["device-config:"])
        let context = CLIContext()
        let config = given.map("device-config:")
        var entry: SRRegistry.Entry
        let reference = try given["uuid"] ?? given.require("sr")
        if config.isEmpty {
            entry = try context.registry.find(reference)
        } else if let known = try context.registry.entries().first(where: { $0.uuid == reference }) {
            entry = known
            entry.deviceConfig = config
        } else {
            entry = SRRegistry.Entry(
                uuid: try given.require("uuid"), type: given["type"] ?? "ext", nameLabel: "", nameDescription: "",
                deviceConfig: config, attached: false)
        }
        let record = try context.host(type: entry.type).attachSR(uuid: entry.uuid, deviceConfig: entry.deviceConfig)
        entry.attached = true
        entry.nameLabel = record.nameLabel
        entry.nameDescription = record.nameDescription
        let updated = entry
        try context.registry.update { entries in
            if let index = entries.firstIndex(where: { $0.uuid == updated.uuid }) {
                entries[index] = updated
            } else {
                entries.append(updated)
            }
        }
        if output.json { try Output.json(updated) } else { print(updated.uuid) }
    }
}
