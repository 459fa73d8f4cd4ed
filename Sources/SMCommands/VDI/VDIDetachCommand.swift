import ArgumentParser
import SM

/// `sm vdi-detach`: deactivates and detaches a VDI on this host, stopping its datapath daemon.
struct VDIDetachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vdi-detach", abstract: "Deactivate and detach a VDI on this host.",
        discussion: "Parameters: uuid=. Waits for the VDI's writes to be flushed, then stops its daemon.")

    @Argument(help: "key=value parameters") var parameters: [String] = []

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "sr"])
        let uuid = try given.require("uuid")
        let context = CLIContext()
        let entry = try context.findVDI(uuid, sr: given["sr"])
        try context.withEngine(entry) { host, engine in
            try host.deactivateVDI(engine, uuid)
            try host.detachVDI(engine, uuid)
        }
    }
}
