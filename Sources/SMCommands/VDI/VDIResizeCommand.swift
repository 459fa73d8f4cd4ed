import ArgumentParser
import SM

/// `sm vdi-resize`: grows a VDI.
struct VDIResizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vdi-resize", abstract: "Grow a VDI.",
        discussion: """
            Parameters: uuid=, disk-size= (the new virtual size: 20GiB, bytes; never smaller), \
            online=true to grow a VDI in use (within its preallocated BAT).
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "sr", "disk-size", "online"])
        let uuid = try given.require("uuid")
        guard let size = try given.size("disk-size") else { throw ValidationError("missing parameter disk-size=…") }
        let online = try given.flag("online") ?? false
        let context = CLIContext()
        let entry = try context.findVDI(uuid, sr: given["sr"])
        let record = try context.withEngine(entry) { host, engine in
            try host.resizeVDI(engine, uuid, to: size, online: online)
        }
        if output.json { try Output.json(record) } else { print(ByteSize.format(record.virtualSize)) }
    }
}
