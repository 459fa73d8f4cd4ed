import ArgumentParser
import SM

/// `sm sr-detach`: detaches an SR (unplugs its PBD); the host still knows it.
struct SRDetachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sr-detach", abstract: "Detach an SR from this host.",
        discussion: "Parameters: uuid= (or sr=, a uuid or name-label).")

    @Argument(help: "key=value parameters") var parameters: [String] = []

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "sr"])
        let context = CLIContext()
        let entry = try context.registry.find(try given["uuid"] ?? given.require("sr"))
        try context.host(type: entry.type).detachSR(uuid: entry.uuid, deviceConfig: entry.deviceConfig)
        try context.registry.update { entries in
            if let index = entries.firstIndex(where: { $0.uuid == entry.uuid }) { entries[index].attached = false }
        }
    }
}
