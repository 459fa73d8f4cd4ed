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
        commandName: "sr-upkeep", abstract: "Make the spare leaves an SR's next snapshots take; run its collector.",
        discussion: """
            Parameters: sr=, then descriptor= (an SR descriptor file, removed once read) or \
            directory= (a file SR's directory), size= (VDI sizes in bytes, comma-separated) and \
            gc=true (run the SR's garbage collector after, through its driver: descriptor= only).
            """,
        shouldDisplay: false)

    @Argument(help: "key=value parameters") var parameters: [String] = []

    func run() throws {
        let given = try Parameters(parameters, keys: ["sr", "descriptor", "directory", "size", "gc"])
        let sr = try given.require("sr")
        guard Identifier.isUUID(sr) else { throw CLIError("sr= must be an SR uuid") }
        let sizes = try (given["size"] ?? "").split(separator: ",").map { text in
            guard let size = UInt64(text), size > 0 else { throw CLIError("size= takes byte counts, not '\(text)'") }
            return size
        }
        let paths = HostPaths.fromEnvironment()
        let descriptor = try given["descriptor"].map { file in
            defer { unlink(file) }
            return try SRDescriptor.read(from: file)
        }
        let storage = try Self.storage(given, descriptor: descriptor, sr: sr, paths: paths)
        // Spares go only where the SR's own metadata says this SR lives.
        guard (try? storage.metadataStore.load().sr.uuid) == sr else {
            throw CLIError("\(storage.container.name) does not hold SR \(sr)")
        }
        if storage.container.provisioning == .growOnWrite, !sizes.isEmpty {
            let spares = SpareLeaves(container: storage.container)
            try paths.locks.srLock(srUUID: sr).withLock(.exclusive, timeout: .seconds(600)) { () throws(SRError) in
                for size in sizes { try spares.replenish(forSize: size) }
            }
        }
        if given["gc"] == "true", let descriptor, let driver = SMDrivers.driver(forType: descriptor.type, paths: paths) {
            let host = SRHost(driver: driver, paths: paths, backend: BlockBackends.forHost(paths: paths))
            _ = try host.collect(srUUID: sr, deviceConfig: descriptor.deviceConfig)
        }
    }

    /// The SR's storage, from its descriptor through its driver, or from a directory.
    static func storage(_ given: Parameters, descriptor: SRDescriptor?, sr: String, paths: HostPaths) throws -> SRStorage {
        switch (descriptor, given["directory"]) {
        case (let descriptor?, nil):
            guard descriptor.srUUID == sr else { throw CLIError("the descriptor describes SR \(descriptor.srUUID), not \(sr)") }
            guard let driver = SMDrivers.driver(forType: descriptor.type, paths: paths) else {
                throw CLIError("the descriptor names no driver's SR type ('\(descriptor.type)')")
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
