import BlockIO
import VHD
import VHDFormat

extension SREngine {
    /// What a scan changed.
    public struct ScanReport: Sendable, Equatable {
        public var introduced: [String] = []
        public var forgotten: [String] = []
        public var updated: [String] = []
    }

    /// Reconciles the records with the volumes present: volumes without a record are
    /// introduced, records without a volume dropped, sizes, parents and hidden flags refreshed;
    /// every parent is read-only. A hidden leaf (a base copy whose children are gone) keeps its
    /// record, hidden, until the GC removes it: dropping the record would leave its volume on
    /// disk with nothing describing it. Reads only
    /// each recorded VHD's footer and header, never its BAT; a volume becomes a VDI only after
    /// it passes the strict open every writer uses (a half-written or damaged VHD is left out),
    /// and none while recovery left something unsettled (it may be that operation's).
    public func scan() throws(SRError) -> ScanReport {
        let volumes = try EngineFailure.volume(.srScan) { () throws(VolumeError) in try container.list() }
        let recorded = metadata.vdis
        var found: [String: (type: VDIRecord.VolumeType, size: UInt64, summary: ImageSummary?)] = [:]
        for volume in volumes {
            guard let vdi = container.naming.vdi(of: volume.name) else { continue }
            var summary: ImageSummary?
            if vdi.type == .vhd {
                guard let store = try? container.open(volume.name, writable: false),
                    let read = try? ImageSummary.read(store: store, name: volume.name)
                else { continue }
                if recorded[vdi.uuid] == nil,
                    !unsettledRecovery.isEmpty || (try? Image.open(store: store, name: volume.name)) == nil
                {
                    continue
                }
                summary = read
            }
            found[vdi.uuid] = (vdi.type, volume.size, summary)
        }
        let parents: [String: String] = found.compactMapValues { entry in
            entry.summary?.parentReference.flatMap { reference in
                container.naming.vdi(of: VolumeNaming.volume(ofLocator: reference))?.uuid
            }
        }
        let hasChildren = Set(parents.values)
        var report = ScanReport()
        try commit { metadata in
            for uuid in metadata.vdis.keys where found[uuid] == nil {
                metadata.vdis[uuid] = nil
                report.forgotten.append(uuid)
            }
            for (uuid, entry) in found {
                let hidden = entry.summary?.isHidden ?? false
                var record = metadata.vdis[uuid] ?? VDIRecord(
                    uuid: uuid, nameLabel: hidden ? "base copy" : "", volumeType: entry.type, virtualSize: 0,
                    managed: !hidden)
                let before = record
                record.virtualSize = entry.summary?.virtualSize ?? entry.size
                record.physicalUtilisation = entry.size
                record.hidden = hidden
                record.parent = parents[uuid] ?? ""
                record.smConfig["vhd-parent"] = record.parent.isEmpty ? nil : record.parent
                record.smConfig["vdi_type"] = entry.type == .vhd ? "vhd" : "aio"
                if hasChildren.contains(uuid) { record.readOnly = true }
                if metadata.vdis[uuid] == nil {
                    report.introduced.append(uuid)
                } else if before != record {
                    report.updated.append(uuid)
                }
                metadata.vdis[uuid] = record
            }
        }
        report.introduced.sort()
        report.forgotten.sort()
        report.updated.sort()
        return report
    }
}
