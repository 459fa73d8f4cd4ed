import BlockIO
import Synchronization
import VHD
import VHDFormat

/// The one VHD SR engine: SR and VDI operations written once over a `VolumeContainer`, with
/// the SR's own metadata and intent journal. Drivers only supply the container and their
/// probe/attach specifics.
///
/// Concurrency: callers serialise mutating operations per SR with the SR lock (as SM's
/// `ops_exclusive`); `state` guards the in-memory metadata for readers.
public final class SREngine: @unchecked Sendable {
    public let srUUID: String
    public let container: any VolumeContainer
    public let metadataStore: SRMetadataStore
    public let journal: IntentJournal
    /// SM's `MAX_CHAIN_SIZE`: a snapshot that would make a chain deeper is refused.
    public var chainDepthLimit = Chain.defaultDepthLimit
    /// A hook for crash tests: called at each named step of a multi-step operation.
    public var faultPoint: FaultPoint = .environment
    /// Whether another process's garbage collector is running on this SR now (it holds the
    /// SR's `gc_active` lock): its intents are then live work, which recovery leaves alone.
    public var collectorIsLive: @Sendable () -> Bool = { false }
    /// How a process started afresh opens this SR again through its driver (the datapath
    /// daemon, the after-reply upkeep); nil for an engine opened on a bare container.
    public var descriptor: SRDescriptor?
    let state: Mutex<SRMetadata>
    /// Intents begun or found pending and not yet completed: the ones a commit may keep marked.
    let openIntents = Mutex<Set<String>>([])
    /// Why recovery's metadata changes are not yet saved (the SR was full, say); they are held
    /// in memory, so reads see the recovered SR, and the next commit saves them.
    public internal(set) var unsavedRecovery: SRError? {
        get { unsaved.withLock { $0 } }
        set { unsaved.withLock { $0 = newValue } }
    }
    private let unsaved = Mutex<SRError?>(nil)
    /// What the last recovery could not settle (damaged intent records, failed steps), for
    /// reports; while a step failed, operations that change volumes are refused.
    public internal(set) var unsettledRecovery: [String] {
        get { unsettled.withLock { $0 } }
        set { unsettled.withLock { $0 = newValue } }
    }
    private let unsettled = Mutex<[String]>([])
    let failedSteps = Mutex(false)

    /// The smallest and largest VDI sizes (SM's `MIN_VHD_SIZE`, `MAX_VHD_SIZE`).
    public static let minimumVDISize: UInt64 = 2 << 20
    public static let maximumVDISize: UInt64 = Create.interoperableMaxVirtualSize
    /// VHD VDIs size their BAT for growth to at least this, so online resize needs no block moves.
    public static let minimumPreallocation: UInt64 = 64 << 30

    init(srUUID: String, container: any VolumeContainer, metadataStore: SRMetadataStore, journal: IntentJournal, metadata: SRMetadata) {
        self.srUUID = srUUID
        self.container = container
        self.metadataStore = metadataStore
        self.journal = journal
        self.state = Mutex(metadata)
    }

    /// Writes the metadata of a new, empty SR into `container`.
    public static func create(
        sr: SRRecord, container: any VolumeContainer, metadataStore: SRMetadataStore, journal: IntentJournal
    ) throws(SRError) -> SREngine {
        let metadata = SRMetadata(sr: sr)
        try EngineFailure.wrap(.srExists) { () throws in try metadataStore.save(metadata) }
        return SREngine(srUUID: sr.uuid, container: container, metadataStore: metadataStore, journal: journal, metadata: metadata)
    }

    /// Loads the SR: reads its metadata, then (unless not `recovering`: a host that is not the
    /// SR master) rolls every interrupted operation forward or back.
    public static func load(
        srUUID: String, container: any VolumeContainer, metadataStore: SRMetadataStore, journal: IntentJournal,
        recovering: Bool = true
    ) throws(SRError) -> SREngine {
        let metadata = try EngineFailure.wrap(.srUnavailable) { () throws in try metadataStore.load() }
        guard metadata.sr.uuid == srUUID else {
            throw EngineFailure.error(.srUnavailable, "the SR in \(container.name) is \(metadata.sr.uuid), not \(srUUID)")
        }
        let engine = SREngine(srUUID: srUUID, container: container, metadataStore: metadataStore, journal: journal, metadata: metadata)
        if recovering { try engine.recover() }
        return engine
    }

    /// Re-reads the records from the medium and recovers what other processes left
    /// interrupted, leaving this engine's own open intents alone: for an engine that lives
    /// across turns with the SR lock (the collector's) while other processes change the SR.
    public func reload() throws(SRError) {
        let stored = try EngineFailure.wrap(.srUnavailable) { () throws in try metadataStore.load() }
        guard stored.sr.uuid == srUUID else {
            throw EngineFailure.error(.srUnavailable, "the SR in \(container.name) is \(stored.sr.uuid), not \(srUUID)")
        }
        state.withLock { $0 = stored }
        try recover(skipping: openIntents.withLock { $0 })
    }

    /// The SR's current self-description.
    public var metadata: SRMetadata { state.withLock { $0 } }
    public var sr: SRRecord { metadata.sr }

    /// The VDI records, users' and base copies alike.
    public var vdis: [VDIRecord] { metadata.vdis.values.sorted { $0.uuid < $1.uuid } }

    public func vdi(_ uuid: String) throws(SRError) -> VDIRecord {
        guard Identifier.isUUID(uuid), let record = metadata.vdis[uuid] else {
            throw EngineFailure.error(.vdiMissing, "no VDI \(uuid) in SR \(srUUID)")
        }
        return record
    }

    /// Applies `change` to the metadata and saves it atomically. With `intent`, this save is
    /// that intent's commit point (`SRMetadata.committedIntents`).
    func commit(marking intent: Intent? = nil, _ change: (inout SRMetadata) -> Void) throws(SRError) {
        var updated = metadata
        change(&updated)
        let open = openIntents.withLock { $0 }
        updated.committedIntents.formIntersection(open)
        if let intent { updated.committedIntents.insert(intent.id) }
        let snapshot = updated
        do throws(SRError) {
            try EngineFailure.wrap(.metadataError) { () throws in try metadataStore.save(snapshot) }
        } catch {
            // A save can land and still fail (the directory fsync after the rename): what the
            // medium now holds decides, or an undo would contradict the saved records.
            guard (try? metadataStore.load()) == snapshot else { throw error }
        }
        state.withLock { $0 = snapshot }
        unsavedRecovery = nil
    }

    /// Applies `change` in memory only: recovery's outcome, which `saveRecovered` persists.
    func applyRecovered(_ change: (inout SRMetadata) -> Void) {
        state.withLock { change(&$0) }
    }

    /// Updates the SR's own name, description or configs.
    public func updateSR(_ change: (inout SRRecord) -> Void) throws(SRError) {
        try commit { change(&$0.sr) }
    }

    /// Space of the SR as SM reports it: total, used, and the virtual sizes of visible VDIs.
    public func space() throws(SRError) -> (physicalSize: UInt64, physicalUtilisation: UInt64, virtualAllocation: UInt64) {
        let space = try EngineFailure.volume(.srUnavailable) { () throws(VolumeError) in try container.space() }
        let virtual = metadata.vdis.values.filter { !$0.hidden }.reduce(UInt64(0)) { $0 + $1.virtualSize }
        return (space.total, space.total - space.free, virtual)
    }
}
