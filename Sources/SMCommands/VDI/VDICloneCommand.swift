import ArgumentParser
import SM

/// `sm vdi-clone`: a writable copy of a VDI sharing its data copy-on-write.
struct VDICloneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vdi-clone", abstract: "Clone a VDI.",
        discussion: """
            Parameters: uuid= (the VDI), new-name-label= and new-name-description= for the clone \
            (default: the VDI's). Prints the clone's uuid.
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "sr", "new-name-label", "new-name-description"])
        try VDICopy.run(given, isClone: true, type: .double, json: output.json)
    }
}
