import BlockIO
import VHD
import VHDFormat

extension SREngine {
    /// Finishes or undoes what a crash interrupted: every pending intent (rolled forward when
    /// its metadata commit was saved, back otherwise), every destroy marker, every resize
    /// journal; then removes what interrupted operations left behind.
    ///
    /// Recovery itself only renames, removes, empties and rewrites headers in place, so it
    /// works on a full SR. What it changes in the records is applied in memory and saved when
    /// it can be; when the save fails (`unsavedRecovery`), reads still see the recovered SR, and
    /// the intents and markers that depend on the save stay for the next load to redo. Intents
    /// in `own` are this engine's, in progress (a collector's between its turns with the lock).
    func recover(skipping own: Set<String> = []) throws(SRError) {
        let pending = try EngineFailure.wrap(.srUnavailable) { () throws in try journal.pending() }
        // A damaged record is an operation of unknown outcome: its id stays open (its commit
        // mark is kept) and nothing it may own is swept or introduced.
        openIntents.withLock { $0 = Set(pending.intents.map(\.id) + pending.problems.map(\.id)) }
        var problems = pending.problems.map { "intent record \($0)" }
        var awaitingSave: [Intent] = []
        var settled = pending.problems.isEmpty
        for intent in pending.intents where !own.contains(intent.id) {
            if let defect = Self.defect(of: intent) {
                problems.append("intent \(intent.id): \(defect)")
                settled = false
                continue
            }
            let operation = EngineOperation(intent, naming: container.naming)
            if let operation, operation.isCollectors, collectorIsLive() {
                // A running collector's work in progress: it finishes or undoes it itself.
                settled = false
                continue
            }
            do throws(SRError) {
                switch operation {
                case .snapshot(let base, let clone, _, _, _): try recoverSnapshot(intent, base: base, clone: clone)
                case .revert, .replace: try recoverLeafSwitch(intent)
                case .create(let volume): try recoverCreate(intent, volume: volume)
                case .resize:
                    try recoverResize(intent)
                    awaitingSave.append(intent)
                case .coalesce(let parent): try recoverCoalesce(intent, parent: parent)
                case .relink(let parent): try recoverRelink(intent, parent: parent)
                case .leafCoalesce(let parent): try recoverLeafCoalesce(intent, parent: parent)
                case nil:
                    // Another version's operation, or one this version cannot read: left (and
                    // reported) for the code that knows how to finish it.
                    problems.append("intent \(intent.id): a \(intent.kind.prefix(64).debugDescription) this SM cannot recover")
                    settled = false
                }
            } catch {
                // The intent stays for the next load; reads go on from what is recorded.
                problems.append("intent \(intent.id) (\(intent.kind) of \(intent.vdiUUID)): \(error.faultString)")
                failedSteps.withLock { $0 = true }
                settled = false
            }
        }
        let volumes = (try? container.list()) ?? []
        problems += recoverOrphanResizeJournals(volumes)
        let markers = recoverDestroys(volumes)
        if settled { try? removeLeftovers(volumes) }
        unsettledRecovery = problems
        if !awaitingSave.isEmpty || !markers.isEmpty {
            do throws(SRError) {
                try commit { _ in }
            } catch {
                unsavedRecovery = error
                return
            }
            awaitingSave.forEach(completeIntent)
            try? EngineFailure.volume(.srUnavailable) { () throws(VolumeError) in
                for marker in markers { try container.remove(marker) }
                try container.sync()
            }
        }
    }

    /// Refuses an operation that changes volumes while a recovery step failed (the storage
    /// refused a rename or a write: read-only, or failing): reads and destroys go on, nothing
    /// is built on a half-recovered SR.
    func requireRecovered(_ failure: SRErrorCode) throws(SRError) {
        guard failedSteps.withLock({ $0 }) else { return }
        throw EngineFailure.error(
            failure, "SR \(srUUID) is not fully recovered: \(unsettledRecovery.joined(separator: "; "))")
    }

    func recoverSnapshot(_ intent: Intent, base: String, clone: String?) throws(SRError) {
        let volumes = SnapshotVolumes(uuid: intent.vdiUUID, base: base, clone: clone ?? "", naming: container.naming)
        if isCommitted(intent) {
            if let baseSize = try finishSnapshot(volumes, baseUsed: metadata.vdis[base] != nil) {
                applyRecovered { $0.vdis[base]?.physicalUtilisation = baseSize }
            }
        } else {
            try undoSnapshot(volumes)
        }
        completeIntent(intent)
    }

    /// A revert or a content replacement: both switch the VDI's leaf, keeping the old one as
    /// `<leaf>.old` until the commit.
    func recoverLeafSwitch(_ intent: Intent) throws(SRError) {
        let leaf = container.naming.volume(for: intent.vdiUUID, type: metadata.vdis[intent.vdiUUID]?.volumeType ?? .vhd)
        if isCommitted(intent) { try finishRevert(leaf) } else { try undoRevert(leaf) }
        completeIntent(intent)
    }

    func recoverCreate(_ intent: Intent, volume: String) throws(SRError) {
        if isCommitted(intent) {
            try finishCreate(volume)
        } else {
            try EngineFailure.volume(.srUnavailable) { () throws(VolumeError) in
                try container.remove(VolumeNaming.staging(volume))
                try container.sync()
            }
        }
        completeIntent(intent)
    }

    /// A resize saved is finished; one not saved has its block journal reverted, and the
    /// record takes the size the volume has now (either side of an interrupted fast resize).
    func recoverResize(_ intent: Intent) throws(SRError) {
        guard let record = metadata.vdis[intent.vdiUUID] else { return }
        let volume = container.naming.volume(for: record.uuid, type: record.volumeType)
        if isCommitted(intent) { return try removeResizeJournal(volume) }
        try revertResizeJournal(volume)
        if record.volumeType == .vhd { try settleFooters(volume) }
        adoptVolumeSizes(record)
    }

    /// Rewrites both footer copies and the size-dependent batmap checksum from the footer the
    /// open chose: a fast resize killed between its writes leaves them disagreeing.
    func settleFooters(_ volume: String) throws(SRError) {
        let store = try EngineFailure.volume(.srUnavailable) { () throws(VolumeError) in
            try container.open(volume, writable: true)
        }
        try EngineFailure.vhd("sr_attach") { () throws(VHDError) in
            let image = try Image.open(store: store, name: volume, options: .readWrite)
            try Resize.restore(image, footer: image.footer)
        }
    }

    /// Makes the record's sizes (in memory) the ones its volume has: its VHD's virtual size,
    /// or a raw volume's own, and the volume's physical size. Unreadable sizes are left as
    /// recorded.
    func adoptVolumeSizes(_ record: VDIRecord) {
        let volume = container.naming.volume(for: record.uuid, type: record.volumeType)
        guard let store = try? container.open(volume, writable: false) else { return }
        let virtual = record.volumeType == .vhd ? (try? ImageSummary.read(store: store, name: volume))?.virtualSize : store.size
        guard let virtual else { return }
        applyRecovered { metadata in
            metadata.vdis[record.uuid]?.virtualSize = virtual
            metadata.vdis[record.uuid]?.physicalUtilisation = store.size
        }
    }

    /// Reverts every resize journal no intent accounts for (one left by `vhd-util resize -j`
    /// or by an older SM); returns what could not be reverted (that journal stays for the next
    /// load).
    func recoverOrphanResizeJournals(_ volumes: [VolumeInfo]) -> [String] {
        var problems: [String] = []
        for journalVolume in volumes.map(\.name) where journalVolume.hasPrefix(".journal-") {
            let volume = String(journalVolume.dropFirst(".journal-".count))
            do throws(SRError) { try revertResizeJournal(volume) } catch {
                problems.append("resize journal \(journalVolume): \(error.faultString)")
                continue
            }
            if let uuid = container.naming.vdi(of: volume)?.uuid, let record = metadata.vdis[uuid] { adoptVolumeSizes(record) }
        }
        return problems
    }

    /// Finishes every destroy whose volume was marked: the marker is emptied and the record
    /// dropped (in memory). Returns the markers to remove once that is saved.
    func recoverDestroys(_ volumes: [VolumeInfo]) -> [String] {
        var markers: [String] = []
        for entry in volumes {
            guard let volume = VolumeNaming.volume(ofDestroying: entry.name) else { continue }
            if entry.size > 0, container.volumesGrowOnWrite {
                try? EngineFailure.volume(.srUnavailable) { () throws(VolumeError) in
                    try container.resize(entry.name, to: 0)
                }
            }
            if let uuid = container.naming.vdi(of: volume)?.uuid { applyRecovered { $0.vdis[uuid] = nil } }
            markers.append(entry.name)
        }
        return markers
    }

    /// Removes the staging and previous volumes and the temporary record files interrupted
    /// operations left (of `volumes`, listed before recovery). Run only once every intent is
    /// settled, under the SR lock, so nothing live can own one.
    func removeLeftovers(_ volumes: [VolumeInfo]) throws(SRError) {
        let leftovers = volumes.map(\.name).filter(VolumeNaming.isLeftover)
        guard !leftovers.isEmpty else { return }
        try EngineFailure.volume(.srUnavailable) { () throws(VolumeError) in
            for name in leftovers { try container.remove(name) }
            try container.sync()
        }
    }
}
