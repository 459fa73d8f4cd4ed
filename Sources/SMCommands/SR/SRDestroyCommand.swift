import ArgumentParser
import SM

/// `sm sr-destroy`: destroys an empty SR and forgets it.
struct SRDestroyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sr-destroy", abstract: "Destroy an SR that holds no VDIs.",
        discussion: """
            Parameters: uuid= (or sr=, a uuid or name-label). A directory SR's directory is removed; \
            a device SR's file system is unmounted and wiped.
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "sr"])
        let context = CLIContext()
        let entry = try context.registry.find(try given["uuid"] ?? given.require("sr"))
        try context.host(type: entry.type).deleteSR(uuid: entry.uuid, deviceConfig: entry.deviceConfig)
        try context.registry.update { entries in entries.removeAll { $0.uuid == entry.uuid } }
    }
}
