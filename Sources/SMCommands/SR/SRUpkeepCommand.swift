import ArgumentParser
import SM

/// `sm sr-upkeep` (not listed): the upkeep a command left for after its reply, run by a
/// detached process the command started (`AfterReply`), under the SR lock.
struct SRUpkeepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sr-upkeep", abstract: "Make the spare leaves an SR's next snapshots take.",
        discussion: "Parameters: sr=, directory= (the SR's directory), size= (VDI sizes in bytes, comma-separated).",
        shouldDisplay: false)

    @Argument(help: "key=value parameters") var parameters: [String] = []

    func run() throws {
        let given = try Parameters(parameters, keys: ["sr", "directory", "size"])
        let sr = try given.require("sr")
        guard Identifier.isUUID(sr) else { throw CLIError("sr= must be an SR uuid") }
        let directory = try given.require("directory")
        guard directory.hasPrefix("/") else { throw CLIError("directory= must be an absolute path") }
        let sizes = try given.require("size").split(separator: ",").map { text in
            guard let size = UInt64(text), size > 0 else { throw CLIError("size= takes byte counts, not '\(text)'") }
            return size
        }
        let storage = SRStorage.directory(directory)
        // Spares go only where the SR's own metadata says this SR lives.
        guard (try? storage.metadataStore.load().sr.uuid) == sr else {
            throw CLIError("\(directory) does not hold SR \(sr)")
        }
        let spares = SpareLeaves(container: storage.container)
        try HostPaths.fromEnvironment().locks.srLock(srUUID: sr).withLock(.exclusive, timeout: .seconds(600)) {
            () throws(SRError) in
            for size in sizes { try spares.replenish(forSize: size) }
        }
    }
}
