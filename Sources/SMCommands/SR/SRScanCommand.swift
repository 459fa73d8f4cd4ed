import ArgumentParser
import SM

/// `sm sr-scan`: reconciles an SR's records with its volumes.
struct SRScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sr-scan", abstract: "Reconcile an SR's VDI records with the volumes present.",
        discussion: "Parameters: uuid= (or sr=, a uuid or name-label; optional when one SR is attached).")

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        var sr: String
        var introduced: [String]
        var forgotten: [String]
        var updated: [String]
    }

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "sr"])
        let context = CLIContext()
        let entry = try context.registry.find(given["uuid"] ?? given["sr"])
        let report = try context.withEngine(entry) { host, engine in try host.scan(engine) }
        let result = Report(
            sr: entry.uuid, introduced: report.introduced, forgotten: report.forgotten, updated: report.updated)
        if output.json { return try Output.json(result) }
        print(
            "scanned SR \(entry.uuid): \(report.introduced.count) introduced, \(report.forgotten.count) forgotten, \(report.updated.count) updated"
        )
        for (word, uuids) in [
            ("introduced", report.introduced), ("forgotten", report.forgotten), ("updated", report.updated),
        ] {
            for uuid in uuids { print("  \(word) \(uuid)") }
        }
    }
}
