import ArgumentParser
import Glibc
import SM
import SMDrivers

/// `sm sr-upkeep` (not listed): the upkeep a command left for after its reply, run by a
/// detached process the command started (`AfterReply`), under the SR lock. The SR is opened
/// through its driver from the descriptor file it is handed (which it removes), or, for an
/// administrator, from the directory of a file SR.
struct SRUpkeepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sr-upkeep", abstract: "Make the spare leaves an SR's next snapshots take.",
        discussion: """
            Parameters: sr=, then descriptor= (an SR descriptor file, removed once read) or \
            directory= (a file SR's directory), and size= (VDI sizes in bytes, comma-separated).
            """,
        shouldDisplay: false)

    @Argument(help: "key=value parameters") var parameters: [String] = []

    func run() throws {
        let given = try Parameters(parameters, keys: ["sr", "descriptor", "directory", "size"])
        let sr = try given.require("sr")
        guard Identifier.isUUID(sr) else { throw CLIError("sr= must be an SR uuid") }
        let sizes = try given.require("size").split(separator: ",").map { text in
            guard let size = UInt64(text), size > 0 else { throw CLIError("size= takes byte counts, not '\(text)'") }
            return size
        }
        let paths = HostPaths.fromEnvironment()
        let storage = try Self.storage(given, sr: sr, paths: paths)
        // Spares go only where the SR's own metadata says this SR lives.
        guard (try? storage.metadataStore.load().sr.uuid) == sr else {
            throw CLIError("\(storage.container.name) does not hold SR \(sr)")
        }
        guard storage.container.provisioning == .growOnWrite else { return }
        let spares = SpareLeaves(container: storage.container)
        try paths.locks.srLock(srUUID: sr).withLock(.exclusive, timeout: .seconds(600)) { () throws(SRError) in
            for size in sizes { try spares.replenish(forSize: size) }
        }
    }

    /// The SR's storage, from its descriptor through its driver, or from a directory.
    static func storage(_ given: Parameters, sr: String, paths: HostPaths) throws -> SRStorage {
        switch (given["descriptor"], given["directory"]) {
        case (let file?, nil):
            defer { unlink(file) }
            let descriptor = try SRDescriptor.read(from: file)
            guard descriptor.srUUID == sr else { throw CLIError("\(file) describes SR \(descriptor.srUUID), not \(sr)") }
            guard let driver = SMDrivers.driver(forType: descriptor.type, paths: paths) else {
                throw CLIError("\(file): no driver for SR type '\(descriptor.type)'")
            }
            return try driver.storage(srUUID: sr, deviceConfig: descriptor.deviceConfig)
        case (nil, let directory?):
            guard directory.hasPrefix("/") else { throw CLIError("directory= must be an absolute path") }
            return .directory(directory)
        default:
            throw CLIError("give descriptor= or directory=, one of them")
        }
    }
}
