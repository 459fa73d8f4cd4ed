import SM
import SMDrivers

/// What every CLI command works with: the host's paths, its SR registry, and the SR hosts.
struct CLIContext {
    let paths: HostPaths
    let registry: SRRegistry

    init(paths: HostPaths = .fromEnvironment()) {
        self.paths = paths
        self.registry = SRRegistry(paths: paths)
    }

    func driver(type: String) throws -> any SRDriver {
        guard let driver = SMDrivers.driver(forType: type, paths: paths) else {
            let known = SMDrivers.all(paths: paths).map(\.typeName).joined(separator: ", ")
            throw CLIError("unknown SR type '\(type)' (known: \(known))")
        }
        return driver
    }

    func host(type: String) throws -> SRHost {
        SRHost(driver: try driver(type: type), paths: paths, backend: BlockBackends.forHost(paths: paths))
    }

    /// Runs `body` with the engine of a registered SR, which must be attached.
    func withEngine<T>(_ entry: SRRegistry.Entry, _ body: (SRHost, SREngine) throws -> T) throws -> T {
        guard entry.attached else { throw CLIError("SR \(entry.uuid) is detached: sr-attach uuid=\(entry.uuid) first") }
        let host = try host(type: entry.type)
        var outcome: Result<T, any Error> = .failure(CLIError("not run"))
        try host.withEngine(srUUID: entry.uuid, deviceConfig: entry.deviceConfig) { engine throws(SRError) in
            outcome = Result { try body(host, engine) }
        }
        return try outcome.get()
    }

    /// The containers of every SR attached here: where no output of the CLI may go.
    func attachedContainers() throws -> [(sr: String, container: any VolumeContainer)] {
        try registry.entries().filter(\.attached).compactMap { entry in
            guard let storage = try? host(type: entry.type).driver.storage(srUUID: entry.uuid, deviceConfig: entry.deviceConfig)
            else { return nil }
            return (entry.uuid, storage.container)
        }
    }

    /// The attached SR holding VDI `uuid` (the one named by `sr`, else any).
    func findVDI(_ uuid: String, sr: String? = nil) throws -> SRRegistry.Entry {
        let candidates = try sr.map { [try registry.find($0)] } ?? registry.entries().filter(\.attached)
        for entry in candidates where entry.attached {
            let found = try withEngine(entry) { _, engine in (try? engine.vdi(uuid)) != nil }
            if found { return entry }
        }
        throw SRError(.vdiMissing, opterr: "no attached SR holds VDI \(uuid)")
    }
}
