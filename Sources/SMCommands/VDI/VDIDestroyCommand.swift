import ArgumentParser
import SM

/// `sm vdi-destroy`: deletes a VDI.
struct VDIDestroyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vdi-destroy", abstract: "Delete a VDI.",
        discussion: "Parameters: uuid=. A VDI attached on this host is refused (VDIInUse).")

    @Argument(help: "key=value parameters") var parameters: [String] = []

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "sr"])
        let uuid = try given.require("uuid")
        let context = CLIContext()
        let entry = try context.findVDI(uuid, sr: given["sr"])
        try context.withEngine(entry) { host, engine in try host.deleteVDI(engine, uuid) }
    }
}
