import ArgumentParser
import SM

/// `sm vdi-revert`: makes a VDI's content a snapshot's again, keeping the VDI's uuid.
struct VDIRevertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vdi-revert", abstract: "Revert a VDI to one of its snapshots.",
        discussion: "Parameters: uuid= (the VDI), snapshot-uuid= (the snapshot whose content it gets).")

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "sr", "snapshot-uuid"])
        let uuid = try given.require("uuid")
        let snapshot = try given.require("snapshot-uuid")
        let context = CLIContext()
        let entry = try context.findVDI(uuid, sr: given["sr"])
        let record = try context.withEngine(entry) { host, engine -> VDIRecord in
            try host.revertVDI(engine, uuid, to: snapshot)
            return try engine.vdi(uuid)
        }
        if output.json { try Output.json(record) }
    }
}
