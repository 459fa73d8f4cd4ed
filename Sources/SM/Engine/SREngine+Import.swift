import BlockIO
import VHD
import VHDFormat

extension SREngine {
    /// Creates a VDI holding `source`'s content, streamed straight into its new volume (a
    /// dynamic VHD written front to back, or a sparse raw volume): holes and zero blocks are
    /// never allocated. The record appears only once the data is in place and flushed.
    public func importVDI(
        _ request: NewVDI, from source: any ConversionSource, progress: ((Double) -> Void)? = nil
    ) throws(SRError) -> VDIRecord {
        let uuid = request.uuid ?? Identifier.newUUID()
        guard Identifier.isUUID(uuid) else { throw EngineFailure.error("VDICreate", "invalid VDI uuid '\(uuid)'") }
        guard metadata.vdis[uuid] == nil else { throw EngineFailure.error("VDIExists", uuid) }
        try refuseSRUUID(uuid)
        let size = try Self.roundedVDISize(max(request.size, source.virtualSize))
        let volume = VolumeNaming.volume(for: uuid, type: request.volumeType)
        let store = try EngineFailure.volume("VDICreate") { () throws(VolumeError) in try container.create(volume, size: 0) }
        do throws(VHDError) {
            try Convert.convert(
                PaddedSource(source: source, size: size), to: request.volumeType == .vhd ? .vhdDynamic : .raw, store: store,
                preallocatedSize: request.volumeType == .vhd ? Self.leafCapacity(for: size) : nil, progress: progress)
            try VHDError.wrap { () throws(BlockIOError) in try store.flush() }
        } catch {
            try? container.remove(volume)
            throw SRError(vhd: error, command: "vdi_create")
        }
        var record = VDIRecord(
            uuid: uuid, nameLabel: request.nameLabel, nameDescription: request.nameDescription, type: request.type,
            volumeType: request.volumeType, virtualSize: size, physicalUtilisation: store.size, readOnly: request.readOnly,
            smConfig: request.smConfig)
        record.smConfig["vdi_type"] = request.volumeType == .vhd ? "vhd" : "aio"
        if request.volumeType == .raw { record.smConfig["type"] = "raw" }
        let imported = record
        try commit { $0.vdis[uuid] = imported }
        return imported
    }
}

/// A source read as `size` bytes: past the source's own end, zeros.
struct PaddedSource: ConversionSource {
    let source: any ConversionSource
    let size: UInt64
    var virtualSize: UInt64 { size }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(VHDError) {
        let available = source.virtualSize > offset ? Int(min(UInt64(buffer.count), source.virtualSize - offset)) : 0
        if available > 0 { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<available]), at: offset) }
        if available < buffer.count {
            UnsafeMutableRawBufferPointer(rebasing: buffer[available...]).initializeMemory(as: UInt8.self, repeating: 0)
        }
    }

    func dataRanges() throws(VHDError) -> [Range<UInt64>] { try source.dataRanges() }
}
