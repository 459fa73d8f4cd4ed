import ArgumentParser
import SM

/// `sm sr-list`: the SRs this host knows, with space and VDI counts of the attached ones.
struct SRListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sr-list", abstract: "List the SRs this host knows.",
        discussion: "Parameters: uuid= or name-label= to show one SR.")

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    struct Row: Encodable {
        var uuid: String
        var nameLabel: String
        var nameDescription: String
        var type: String
        var attached: Bool
        var deviceConfig: [String: String]
        var physicalSize: UInt64?
        var physicalUtilisation: UInt64?
        var virtualAllocation: UInt64?
        var vdiCount: Int?
        /// The bytes the SR's garbage takes: what its collector gives back.
        var reclaimable: UInt64?
    }

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "name-label"])
        let context = CLIContext()
        var entries = try context.registry.entries()
        if let uuid = given["uuid"] { entries = entries.filter { $0.uuid == uuid } }
        if let name = given["name-label"] { entries = entries.filter { $0.nameLabel == name } }
        let rows = entries.map { entry in
            var row = Row(
                uuid: entry.uuid, nameLabel: entry.nameLabel, nameDescription: entry.nameDescription, type: entry.type,
                attached: entry.attached, deviceConfig: entry.deviceConfig)
            if entry.attached,
                let (space, count, debt) = try? context.withEngine(
                    entry,
                    { _, engine in
                        (try engine.space(), engine.vdis.filter { !$0.hidden }.count, CoalesceDebt(engine: engine))
                    })
            {
                row.physicalSize = space.physicalSize
                row.physicalUtilisation = space.physicalUtilisation
                row.virtualAllocation = space.virtualAllocation
                row.vdiCount = count
                row.reclaimable = debt.garbageBytes
            }
            return row
        }
        if output.json { return try Output.json(rows) }
        Output.table(
            ["uuid", "name-label", "type", "attached", "size", "used", "reclaimable", "vdis", "device-config"],
            rows.map { row in
                [
                    row.uuid, row.nameLabel, row.type, row.attached ? "yes" : "no",
                    row.physicalSize.map(ByteSize.format) ?? "-", row.physicalUtilisation.map(ByteSize.format) ?? "-", row.reclaimable.map(ByteSize.format) ?? "-",
                    row.vdiCount.map(String.init) ?? "-",
                    row.deviceConfig.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                ]
            })
    }
}
