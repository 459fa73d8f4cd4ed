import BlockIO
import VHD
import VHDFormat

extension SREngine {
    /// Creates a VDI holding `source`'s content, streamed straight into its new volume (a
    /// dynamic VHD written front to back, or a sparse raw volume): holes and zero blocks are
    /// never allocated. The volume is written under its staging name and becomes the VDI only
    /// once complete, flushed and passing the strict open (`createVolume`), so an import that
    /// fails or is killed leaves nothing a scan could take for a VDI.
    public func importVDI(
        _ request: NewVDI, from source: any ConversionSource, progress: ((Double) -> Void)? = nil
    ) throws(SRError) -> VDIRecord {
        let (uuid, size) = try admit(request, size: max(request.size, source.virtualSize))
        let capacity = leafCapacity(for: size)
        let volumeSize = initialVolumeSize(request.volumeType, options: .init(virtualSize: size, preallocatedSize: capacity))
        return try createVolume(uuid: uuid, request: request, size: size, volumeSize: volumeSize, failure: .vdiCreate) {
            store throws(SRError) in
            try EngineFailure.vhd("vdi_create") { () throws(VHDError) in
                try Convert.convert(
                    PaddedSource(source: source, size: size), to: request.volumeType == .vhd ? .vhdDynamic : .raw,
                    store: store, preallocatedSize: request.volumeType == .vhd ? capacity : nil,
                    progress: progress)
            }
        }
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
