extension SREngine {
    /// Records the intent of `operation` on VDI `uuid` before its first step. Nothing has
    /// changed when it fails (a full SR refuses here, cleanly).
    func beginIntent(_ operation: EngineOperation, vdi uuid: String, failure code: SRErrorCode) throws(SRError) -> Intent {
        let intent = try EngineFailure.wrap(code) { () throws in
            try journal.begin(Intent(kind: operation.kind, vdiUUID: uuid, parameters: operation.parameters))
        }
        openIntents.withLock { _ = $0.insert(intent.id) }
        return intent
    }

    /// Removes a finished (or undone) intent. A failure leaves it for the next load, which
    /// finds the same outcome: the operation's metadata commit, or its absence, decides.
    func completeIntent(_ intent: Intent) {
        if (try? journal.complete(intent.id)) != nil {
            openIntents.withLock { _ = $0.remove(intent.id) }
        }
    }

    /// Whether the intent's commit point (its metadata save) was reached.
    func isCommitted(_ intent: Intent) -> Bool {
        metadata.committedIntents.contains(intent.id)
    }

    /// What makes a recorded intent unsafe to act on: recovery turns its uuid and parameters
    /// into volume names, so one that could form a path (`/`, NUL) or names no VDI is left
    /// alone, as an intent of an unknown kind is.
    static func defect(of intent: Intent) -> String? {
        guard Identifier.isUUID(intent.vdiUUID) else { return "VDI uuid \(intent.vdiUUID.prefix(64).debugDescription)" }
        for (key, value) in intent.parameters where value.contains("/") || value.utf8.contains(0) || value.utf8.count > 255 {
            return "parameter \(key.prefix(64).debugDescription) is \(value.prefix(64).debugDescription)"
        }
        return nil
    }
}
