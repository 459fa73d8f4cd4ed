import VHD
import VHDFormat

/// The space a coalesce of a child into its parent needs, from both images' block allocation
/// (the reference's `_calcExtraSpaceForCoalescing`): every block the child holds and the parent
/// lacks becomes a new block of the parent, with its sector bitmap and page alignment.
struct CoalesceSpace: Sendable, Equatable {
    /// The parent's blocks the coalesce allocates.
    let newBlocks: Int
    /// The size the parent's volume must have for them (where volumes do not grow on write).
    let parentVolumeSize: UInt64
    /// What the SR must have free for the coalesce.
    let extraBytes: UInt64

    /// The space to coalesce `child` into `parent`, the parent's volume of `parentVolumeSize`
    /// bytes in `container`; `reserve` more bytes of the parent's volume are wanted after (a
    /// leaf coalesce makes the parent a thick leaf).
    init(child: Image, parent: Image, parentVolume currentSize: UInt64, provisioning: VolumeProvisioning, reserve: UInt64 = 0) {
        let parentBAT = parent.bat
        var wanted: Set<Int> = []
        let childBAT = child.bat
        for block in 0..<min(child.usedBlockCount, childBAT.count) where childBAT.isAllocated(block) {
            let start = UInt64(block) * child.blockSize
            let end = min(child.virtualSize, start + child.blockSize)
            guard start < end else { continue }
            for parentBlock in Int(start / parent.blockSize)...Int((end - 1) / parent.blockSize)
            where parentBlock >= parentBAT.count || !parentBAT.isAllocated(parentBlock) {
                wanted.insert(parentBlock)
            }
        }
        newBlocks = wanted.count
        let pageAlignment: UInt64 = 4096
        let perBlock = parent.blockSize + parent.bitmapSize + pageAlignment
        let grown = parent.endOfData + UInt64(newBlocks) * perBlock + UInt64(Footer.size)
        switch provisioning {
        case .growOnWrite:
            parentVolumeSize = grown
            extraBytes = UInt64(newBlocks) * (parent.blockSize + parent.bitmapSize)
        case .fixed:
            parentVolumeSize = provisioning.rounded(max(grown, reserve))
            extraBytes = parentVolumeSize > currentSize ? parentVolumeSize - currentSize : 0
        }
    }
}
