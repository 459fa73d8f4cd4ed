/// This host's storage manager for one SR type: a driver, the host's local state (locks,
/// reference counts, mount points) and a block backend. It is the typed API under both fronts:
/// the SMAPIv1 dispatcher translates requests into these calls, and the `sm` CLI makes them
/// directly.
///
/// Every operation that opens an SR holds the SR lock (`<lock dir>/<sr_uuid>/sr`) for its
/// whole run. That covers SM's `ops_exclusive` (FileSR: `sr_create`, `sr_delete`, `sr_attach`,
/// `sr_detach`, `sr_scan`, `vdi_create`, `vdi_delete`, `vdi_attach`, `vdi_detach`,
/// `vdi_snapshot`, `vdi_clone`, …) and is stricter for the rest: here the SR's records live
/// inside the SR, every command reads them, loading them rolls interrupted operations forward
/// or back, and a live operation in another process must never be mistaken for an
/// interrupted one. Only `sr_probe` (no SR yet) and the static commands run unlocked.
public struct SRHost: Sendable {
    public let driver: any SRDriver
    public let paths: HostPaths
    public let backend: any BlockBackend
    /// How long to wait for the SR lock before failing with `LockErr` (37); nil waits forever.
    public var lockTimeout: Duration?
    /// Whether this host is the SR master (`device_config:SRmaster`). Only the master rolls
    /// interrupted operations forward or back when it loads an SR and scans after attaching: on
    /// a shared SR another host doing so could undo an operation the master is running.
    public var isMaster = true
    /// Whether deletes, scans, snapshots and clones kick the SR's collector after their reply
    /// (`SM_AUTO_GC=0` in the environment turns it off).
    public var collectsAfterReply = HostPaths.processEnvironment()["SM_AUTO_GC"] != "0"

    /// The most UTF-8 bytes of a VDI name or description kept in the SR's records; longer ones
    /// are cut at a character boundary (the reference's LVM metadata cuts names to fit, too).
    public static let maximumNameBytes = 2048

    public init(
        driver: any SRDriver, paths: HostPaths = .fromEnvironment(), backend: (any BlockBackend)? = nil,
        lockTimeout: Duration? = .seconds(600)
    ) {
        self.driver = driver
        self.paths = paths
        self.backend = backend ?? PathBlockBackend(refcounts: paths.refcounts)
        self.lockTimeout = lockTimeout
    }

    /// Runs `body` holding SR `srUUID`'s lock.
    public func locked<T>(_ srUUID: String, _ body: () throws(SRError) -> T) throws(SRError) -> T {
        try Self.validate(srUUID: srUUID)
        return try paths.locks.srLock(srUUID: srUUID).withLock(.exclusive, timeout: lockTimeout, body)
    }

    /// Runs `body` with the engine of attached SR `srUUID`, holding the SR lock. Loading the
    /// engine recovers interrupted operations first.
    public func withEngine<T>(
        srUUID: String, deviceConfig: [String: String], _ body: (SREngine) throws(SRError) -> T
    ) throws(SRError) -> T {
        try locked(srUUID) { () throws(SRError) in
            let storage = try driver.storage(srUUID: srUUID, deviceConfig: deviceConfig)
            let engine = try engine(srUUID: srUUID, storage: storage, deviceConfig: deviceConfig)
            resumeInterruptedPauses(engine)
            return try body(engine)
        }
    }

    /// The SRs on the storage `deviceConfig` names, as probe XML.
    public func probe(deviceConfig: [String: String], smConfig: [String: String] = [:]) throws(SRError) -> String {
        try driver.probe(deviceConfig: deviceConfig, smConfig: smConfig)
    }

    /// Creates SR `uuid` on the storage `deviceConfig` names and leaves it detached, as
    /// `sr_create` does (the toolstack attaches it next).
    public func createSR(
        uuid: String, deviceConfig: [String: String], nameLabel: String = "", nameDescription: String = ""
    ) throws(SRError) -> SRRecord {
        try locked(uuid) { () throws(SRError) in
            let storage = try driver.create(srUUID: uuid, deviceConfig: deviceConfig)
            let record = SRRecord(
                uuid: uuid, nameLabel: try Self.checkedName(nameLabel),
                nameDescription: try Self.checkedName(nameDescription), type: driver.typeName)
            do throws(SRError) {
                _ = try SREngine.create(
                    sr: record, container: storage.container, metadataStore: storage.metadataStore,
                    journal: storage.journal)
            } catch {
                try? driver.detach(srUUID: uuid, deviceConfig: deviceConfig)
                throw error
            }
            try driver.detach(srUUID: uuid, deviceConfig: deviceConfig)
            return record
        }
    }

    /// Attaches SR `uuid`, recovers interrupted operations and scans it (SM scans after a
    /// master's attach; a failed scan does not fail the attach there either).
    @discardableResult
    public func attachSR(uuid: String, deviceConfig: [String: String]) throws(SRError) -> SRRecord {
        try locked(uuid) { () throws(SRError) in
            let storage = try driver.attach(srUUID: uuid, deviceConfig: deviceConfig)
            let engine = try engine(srUUID: uuid, storage: storage, deviceConfig: deviceConfig)
            if isMaster { _ = try? engine.scan() }
            return engine.sr
        }
    }

    /// Detaches SR `uuid`; `SRInUse` (16) while one of its VDIs is attached or active here.
    /// Detaching a detached SR succeeds. A collector running on it is stopped first.
    public func detachSR(uuid: String, deviceConfig: [String: String]) throws(SRError) {
        try Self.validate(srUUID: uuid)
        try abortCollector(srUUID: uuid)
        try locked(uuid) { () throws(SRError) in
            if let storage = try? driver.storage(srUUID: uuid, deviceConfig: deviceConfig) {
                let busy = try vdisInUse(srUUID: uuid, container: storage.container)
                guard busy.isEmpty else {
                    throw SRError(.srInUse, opterr: "VDIs in use on this host: \(busy.joined(separator: ", "))")
                }
            }
            try driver.detach(srUUID: uuid, deviceConfig: deviceConfig)
        }
    }

    /// Destroys SR `uuid` (FileSR's delete: attach, scan, refuse while VDIs exist with
    /// `SRNotEmpty` (39), remove what is left, detach).
    public func deleteSR(uuid: String, deviceConfig: [String: String]) throws(SRError) {
        try Self.validate(srUUID: uuid)
        try abortCollector(srUUID: uuid)
        try locked(uuid) { () throws(SRError) in
            let storage = try driver.attach(srUUID: uuid, deviceConfig: deviceConfig)
            let engine = try engine(srUUID: uuid, storage: storage, deviceConfig: deviceConfig)
            _ = try engine.scan()
            let visible = engine.vdis.filter { !$0.hidden }
            guard visible.isEmpty else {
                throw SRError(
                    .srNotEmpty,
                    opterr: "VDIs still exist in SR: \(visible.prefix(8).map(\.uuid).joined(separator: ", "))")
            }
            try driver.delete(srUUID: uuid, deviceConfig: deviceConfig)
            try? backend.reset(srUUID: uuid)
        }
    }

    /// Loads the SR's engine from its storage.
    func engine(srUUID: String, storage: SRStorage, deviceConfig: [String: String]) throws(SRError) -> SREngine {
        let engine = try SREngine.load(
            srUUID: srUUID, container: storage.container, metadataStore: storage.metadataStore, journal: storage.journal,
            recovering: isMaster)
        engine.descriptor = SRDescriptor(type: driver.typeName, srUUID: srUUID, deviceConfig: deviceConfig)
        let collector = try paths.locks.gcActiveLock(srUUID: srUUID)
        engine.collectorIsLive = { collector.isHeldByAnotherProcess }
        return engine
    }

    /// The VDIs of the SR (by their volumes) attached or active on this host.
    func vdisInUse(srUUID: String, container: any VolumeContainer) throws(SRError) -> [String] {
        let volumes: [VolumeInfo]
        do { volumes = try container.list() } catch { throw SRError(.srUnavailable, opterr: error.description) }
        var busy: [String] = []
        for volume in volumes {
            guard let vdi = container.naming.vdi(of: volume.name) else { continue }
            if try backend.state(srUUID: srUUID, vdiUUID: vdi.uuid).isInUse { busy.append(vdi.uuid) }
        }
        return busy.sorted()
    }

    /// `InvalidArg` unless `srUUID` is a canonical uuid (it becomes a lock and a path component).
    public static func validate(srUUID: String) throws(SRError) {
        guard Identifier.isUUID(srUUID) else {
            throw SRError(.invalidArg, opterr: "invalid SR uuid '\(srUUID.prefix(64))'")
        }
    }

    /// A name or description as the SR records keep it: refused with `IllegalXMLChar` (447)
    /// when it holds a character XML 1.0 forbids (it must survive probe XML and the SMAPI wire),
    /// else cut to `maximumNameBytes`.
    public static func checkedName(_ text: String) throws(SRError) -> String {
        if let bad = text.unicodeScalars.first(where: { !isXMLCharacter($0) }) {
            let hex = String(bad.value, radix: 16, uppercase: true)
            throw SRError(
                .illegalXMLChar,
                opterr:
                    "U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex) is not allowed in names and descriptions"
            )
        }
        return clipped(text)
    }

    /// XML 1.0 §2.2 `Char`: `#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`.
    static func isXMLCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }

    /// `text` cut to `maximumNameBytes` at a character boundary.
    public static func clipped(_ text: String) -> String {
        guard text.utf8.count > maximumNameBytes else { return text }
        var result = ""
        var count = 0
        for character in text {
            count += character.utf8.count
            if count > maximumNameBytes { break }
            result.append(character)
        }
        return result
    }
}
