import ArgumentParser
import SM

/// `sm vdi-snapshot`: a read-only point-in-time copy of a VDI.
struct VDISnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vdi-snapshot", abstract: "Snapshot a VDI.",
        discussion: """
            Parameters: uuid= (the VDI), name-label= and name-description= for the snapshot \
            (default: the VDI's), type=double (the default), single or internal. The VDI keeps its \
            uuid; its content so far becomes a hidden base copy. Prints the snapshot's uuid.
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "sr", "type", "name-label", "name-description"])
        let type = try VDIOptions.snapshotType(given["type"])
        try VDICopy.run(given, isClone: false, type: type, json: output.json)
    }
}

/// Snapshot and clone share everything but the flag.
enum VDICopy {
    static func run(_ given: Parameters, isClone: Bool, type: SREngine.SnapshotType, json: Bool) throws {
        let uuid = try given.require("uuid")
        let context = CLIContext()
        let entry = try context.findVDI(uuid, sr: given["sr"])
        let names = SREngine.CopyNames(
            nameLabel: given["name-label"] ?? given["new-name-label"],
            nameDescription: given["name-description"] ?? given["new-name-description"])
        let record = try context.withEngine(entry) { host, engine -> VDIRecord in
            // The names go with the snapshot itself, so one finished by recovery has them too.
            let result = try host.snapshotVDI(engine, uuid, type: type, isClone: isClone, names: names)
            return try result.newVDI ?? result.baseCopy ?? engine.vdi(uuid)
        }
        if json { try Output.json(record) } else { print(record.uuid) }
    }
}
