import SM

extension SMAPIDispatcher {
    /// The VDI commands: each runs with the SR's engine under the SR lock.
    func runVDI(_ request: SMAPIRequest) throws(SRError) -> SMAPIReply {
        let srUUID = try uuid(request.requireSRUUID)
        return try host.withEngine(srUUID: srUUID, deviceConfig: request.deviceConfig) { engine throws(SRError) in
            if request.command == .vdiCreate { return try create(request, engine) }
            let vdiUUID = try uuid(request.requireVDIUUID)
            do throws(SRError) {
                return try runExisting(request, vdiUUID: vdiUUID, engine)
            } catch {
                throw Self.commandFailure(error, command: request.command)
            }
        }
    }

    /// `vdi_create`: a VHD, or a raw VDI when `vdi_sm_config:type` is `raw` (FileSR's rule).
    func create(_ request: SMAPIRequest, _ engine: SREngine) throws(SRError) -> SMAPIReply {
        guard let arguments = request.vdiCreateArguments else {
            throw SRError(.badRequest, opterr: "vdi_create without its arguments")
        }
        var new = SREngine.NewVDI(size: arguments.size)
        new.uuid = request.vdiUUID
        new.nameLabel = arguments.nameLabel
        new.nameDescription = arguments.nameDescription
        new.type = request.vdiType ?? "user"
        new.volumeType = request.vdiSMConfig["type"] == "raw" ? .raw : .vhd
        new.readOnly = arguments.readOnly
        new.isASnapshot = arguments.isASnapshot
        new.snapshotOf = arguments.snapshotOf
        new.snapshotTime = arguments.snapshotTime.isEmpty ? VDIRecord.neverSnapshotted : arguments.snapshotTime
        // SM passes these two sm-config keys through from vdi_sm_config (VDI._db_introduce).
        new.smConfig = request.vdiSMConfig.filter { $0.key == "key_hash" || $0.key == "base_mirror" }
        let record = try host.createVDI(engine, new)
        return .vdi(location: record.location, uuid: record.uuid)
    }

    func runExisting(_ request: SMAPIRequest, vdiUUID: String, _ engine: SREngine) throws(SRError) -> SMAPIReply {
        switch request.arguments {
        case .vdiAttach(let writable):
            return .attach(try host.attachVDI(engine, vdiUUID, writable: writable))
        case .vdiActivate(let writable):
            try host.activateVDI(engine, vdiUUID, writable: writable, onBoot: request.vdiOnBoot)
            return .nil
        case .vdiResize(let newSize):
            let record = try host.resizeVDI(engine, vdiUUID, to: newSize, online: request.command == .vdiResizeOnline)
            return .vdi(location: record.location, uuid: record.uuid)
        case .vdiCompose(let vdi1Ref):
            let parent = try toolstack.vdiUUID(forRef: vdi1Ref, sessionRef: request.sessionRef)
            try engine.compose(parent: parent, child: vdiUUID)
            return .nil
        case .vdiRevert(let targetRef):
            let target = try toolstack.vdiUUID(forRef: targetRef, sessionRef: request.sessionRef)
            try host.revertVDI(engine, target, to: vdiUUID)
            return .vdi(location: target, uuid: target)
        default:
            return try runPlain(request, vdiUUID: vdiUUID, engine)
        }
    }

    /// The VDI commands without arguments.
    func runPlain(_ request: SMAPIRequest, vdiUUID: String, _ engine: SREngine) throws(SRError) -> SMAPIReply {
        switch request.command {
        case .vdiDelete:
            try host.deleteVDI(engine, vdiUUID)
        case .vdiUpdate:
            _ = try engine.refreshVDI(vdiUUID)
        case .vdiDetach:
            try host.detachVDI(engine, vdiUUID)
        case .vdiDeactivate:
            try host.deactivateVDI(engine, vdiUUID)
        case .vdiSnapshot, .vdiClone:
            return try snapshot(request, vdiUUID: vdiUUID, engine)
        case .vdiGenerateConfig:
            _ = try engine.vdi(vdiUUID)
            return SMAPIReply.generatedConfig(
                deviceConfig: request.deviceConfig, srUUID: engine.srUUID, vdiUUID: vdiUUID)
        case .vdiEpochBegin:
            try host.beginEpoch(engine, vdiUUID, onBoot: request.vdiOnBoot)
        case .vdiEpochEnd:
            _ = try engine.vdi(vdiUUID)
        default:
            throw SRError(.badRequest, opterr: "\(request.command.rawValue) is not a VDI command")
        }
        return .nil
    }

    /// `vdi_snapshot` / `vdi_clone`; `driver_params:type` picks `single`, `double` (the default)
    /// or `internal`. The reply names the new user-visible VDI, else the base copy, else the VDI
    /// itself (FileSR's `_snapshot`).
    func snapshot(_ request: SMAPIRequest, vdiUUID: String, _ engine: SREngine) throws(SRError) -> SMAPIReply {
        let isClone = request.command == .vdiClone
        var type = SREngine.SnapshotType.double
        if !isClone, let name = request.driverParams["type"] {
            guard let chosen = SREngine.SnapshotType(rawValue: name) else {
                throw SRError(
                    .invalidArg, opterr: "driver_params:type must be single, double or internal, not \(name.prefix(64))"
                )
            }
            type = chosen
        }
        let result = try host.snapshotVDI(engine, vdiUUID, type: type, isClone: isClone)
        let uuid = result.newVDI?.uuid ?? result.baseCopy?.uuid ?? vdiUUID
        return .vdi(location: uuid, uuid: uuid)
    }

    /// SM's `EXCEPTION_TYPE` rule at this edge: errors that are already specific pass through;
    /// a generic `SMGeneral` from below becomes the command's own code.
    static func commandFailure(_ error: SRError, command: SMAPICommand) -> SRError {
        guard error.code == .smGeneral else { return error }
        var mapped = error
        mapped.code = .forFailedCommand(command.rawValue)
        return mapped
    }
}
