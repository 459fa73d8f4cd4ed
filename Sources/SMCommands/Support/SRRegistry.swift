import SM

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The SRs this host knows, with each one's type and device-config (the toolstack's PBD
/// role), so later commands find an SR by uuid or name. A JSON file,
/// `<state dir>/registry.json`, replaced atomically and changed under a lock file; the SRs'
/// own records stay inside the SRs.
struct SRRegistry {
    /// One SR known to this host.
    struct Entry: Codable, Hashable {
        var uuid: String
        var type: String
        var nameLabel: String
        var nameDescription: String
        var deviceConfig: [String: String]
        /// Whether this host has it attached (a plugged PBD).
        var attached: Bool
    }

    struct File: Codable {
        var version = 1
        var srs: [Entry] = []
    }

    let paths: HostPaths

    var path: String { paths.stateDirectory + "/registry.json" }

    /// Every known SR, in the order they were registered.
    func entries() throws -> [Entry] { try read().srs }

    /// Applies `change` under the registry lock and saves the result.
    @discardableResult
    func update<T>(_ change: (inout [Entry]) throws -> T) throws -> T {
        let lock = try paths.locks.lock("registry", namespace: "swift-sm")
        try lock.acquire(timeout: .seconds(60))
        defer { try? lock.release() }
        var file = try read()
        let result = try change(&file.srs)
        try write(file)
        return result
    }

    /// The entry whose uuid or name-label is `reference`; with no reference, the only attached
    /// SR. Usage errors say what was ambiguous or missing.
    func find(_ reference: String?) throws -> Entry {
        let all = try entries()
        guard let reference, !reference.isEmpty else {
            let attached = all.filter(\.attached)
            guard attached.count == 1 else {
                throw CLIError(
                    attached.isEmpty
                        ? "no SR is attached: create or attach one first"
                        : "several SRs are attached: name one with sr=<uuid or name-label>")
            }
            return attached[0]
        }
        if let entry = all.first(where: { $0.uuid == reference }) { return entry }
        let named = all.filter { $0.nameLabel == reference }
        guard named.count == 1 else {
            throw CLIError(
                named.isEmpty
                    ? "no known SR has uuid or name-label '\(reference)'"
                    : "several SRs are named '\(reference)': use the uuid")
        }
        return named[0]
    }

    /// The most bytes of registry read: thousands of SRs' entries; a bigger file is damage.
    static let maximumSize = 16 << 20

    func read() throws -> File {
        guard let bytes = try DurableFile.readBytes(path, limit: Self.maximumSize) else { return File() }
        do {
            return try JSONDecoder().decode(File.self, from: Data(bytes))
        } catch {
            throw CLIError("the SR registry \(path) is unreadable: \(error)")
        }
    }

    /// Saves `file` crash-safely and owner-only (0600, in a 0700 directory), whatever the umask:
    /// it holds every SR's device-config.
    func write(_ file: File) throws {
        try SystemCall.makeDirectories(paths.stateDirectory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try DurableFile.replace(path, with: Array(try encoder.encode(file)))
    }
}

/// A usage or lookup failure of the CLI, printed as its message.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
