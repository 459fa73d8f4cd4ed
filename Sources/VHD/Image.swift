import BlockIO
import Synchronization
import VHDFormat

/// One VHD file (one layer of a chain) open on a `BlockStore`: its metadata, and reads and
/// writes of the data it holds itself. Reading through parents is `Chain`'s job.
///
/// Locking: `state` (a `Mutex`) guards the mutable metadata (footer, BAT, batmap, bitmap cache)
/// and is held only briefly, never across I/O, so reads run in parallel. `writer` serialises
/// writers, allocation and metadata updates, and is held across their I/O.
public final class Image: @unchecked Sendable {
    /// What `open` accepts.
    public struct OpenOptions: Sendable {
        /// Open for writing.
        public var writable: Bool
        /// Open a disk disabled by blktap's poison cookie (as `query`, `read`, `check` do).
        public var ignoreDisabled: Bool
        /// Flush between the data and the BAT of a new block, so a power loss (not only a
        /// process crash) never exposes stale data.
        public var barriers: Bool
        /// How much is checked before `open` returns.
        public var validation: Validation

        public init(
            writable: Bool = false, ignoreDisabled: Bool = false, barriers: Bool = true, validation: Validation = .full
        ) {
            self.writable = writable
            self.ignoreDisabled = ignoreDisabled
            self.barriers = barriers
            self.validation = validation
        }

        public static let readOnly = OpenOptions()
        public static let readWrite = OpenOptions(writable: true)

        /// blktap's `vhd_open(VHD_OPEN_RDONLY | …)`, read-only. `ignoreDisabled` is
        /// `VHD_OPEN_IGNORE_DISABLED` (what `query`, `read`, `scan` and `check` pass).
        public static func libvhd(ignoreDisabled: Bool = true, backupFooter: Bool = false, fast: Bool = false)
            -> OpenOptions
        {
            OpenOptions(ignoreDisabled: ignoreDisabled, validation: .libvhd(backupFooter: backupFooter, fast: fast))
        }
    }

    /// How much `open` checks, and so what the image can be used for.
    public enum Validation: Sendable, Equatable {
        /// Footer, header (the engine's `HeaderValidation` rules), BAT, batmap and the
        /// placement of every block: an image that reads and writes safely.
        case full
        /// blktap's `vhd_open`: the footer and, for a sparse disk, the header by libvhd's rules
        /// and errno values, nothing else. The image answers through `libvhd` (BAT, batmap,
        /// locators read on demand, as libvhd does) and refuses data reads, since its blocks
        /// were never checked. `check` and the read-only `vhd-util` commands report on damaged
        /// images this way, reaching blktap's verdicts.
        ///
        /// `backupFooter` is `VHD_OPEN_USE_BKP_FOOTER` (the copy at offset 0 only); `fast` is
        /// `VHD_OPEN_FAST` (`scan -f`: that copy and the header, read together, nothing else
        /// checked).
        case libvhd(backupFooter: Bool = false, fast: Bool = false)
    }

    /// Where the footer in use was found.
    public enum FooterSource: Sendable, Equatable {
        /// At the end of the store (EOF − 512), or at EOF − 511 for a short footer.
        case primary(offset: UInt64)
        /// The copy at offset 0, because the primary was missing or invalid.
        case backup(primaryProblem: String)
    }

    struct State {
        var footer: Footer
        var header: DynamicHeader?
        var bat: BlockAllocationTable
        var batmapHeader: BatmapHeader?
        var batmap: [UInt8]
        /// The blocks whose bitmaps have been read, by index: only those touched, so opening
        /// a large image costs nothing per block.
        var blocks: [Int: BlockState]
        /// The first byte after the last block or metadata: where the next block goes.
        var endOfData: UInt64

        /// The state of an image whose BAT is not loaded: a fixed disk, or any disk opened
        /// with libvhd's validation.
        static func headersOnly(footer: Footer, header: DynamicHeader?, endOfData: UInt64) -> State {
            State(
                footer: footer, header: header, bat: BlockAllocationTable(count: 0), batmapHeader: nil, batmap: [],
                blocks: [:], endOfData: endOfData)
        }
    }

    /// What is known of a block's sector bitmap, loaded on first use.
    enum BlockState {
        case full
        case partial(SectorBitmap)
    }

    public let store: any BlockStore
    /// The store's identity when it was opened, before anything was read: an image whose store
    /// still has it holds exactly what this one read (`Chain.open(leaf:resolver:reusing:)`).
    public let openedIdentity: StoreIdentity?
    /// The name used in errors and output (the path as given).
    public let name: String
    public let options: OpenOptions
    public let footerSource: FooterSource
    let state: Mutex<State>
    let writer = Mutex<Void>(())

    /// The disk type, fixed for the life of an open image. Kept out of `state`, as are the
    /// block and bitmap sizes, because every read asks for them: copying the footer or header
    /// under the lock on each request made parallel readers contend for its cache line.
    public let diskType: DiskType
    /// Bytes per block (0 for a fixed disk).
    public let blockSize: UInt64
    /// Bytes of each block's sector bitmap.
    public let bitmapSize: UInt64
    /// Whether the BAT and the blocks were loaded and checked (`.full` validation), which
    /// data reads need.
    let blocksChecked: Bool

    init(
        store: any BlockStore, name: String, options: OpenOptions, footerSource: FooterSource, state: State,
        openedIdentity: StoreIdentity? = nil
    ) {
        self.store = store
        self.openedIdentity = openedIdentity
        self.name = name
        self.options = options
        self.footerSource = footerSource
        self.diskType = state.footer.diskType ?? .none
        self.blockSize = UInt64(state.header?.blockSize ?? 0)
        self.bitmapSize = state.header?.bitmapSize ?? 0
        self.blocksChecked = options.validation == .full
        self.state = Mutex(state)
    }

    // MARK: Metadata

    public var footer: Footer { state.withLock { $0.footer } }
    public var header: DynamicHeader? { state.withLock { $0.header } }
    public var bat: BlockAllocationTable { state.withLock { $0.bat } }
    public var batmapHeader: BatmapHeader? { state.withLock { $0.batmapHeader } }
    public var batmap: [UInt8] { state.withLock { $0.batmap } }
    public var endOfData: UInt64 { state.withLock { $0.endOfData } }

    public var virtualSize: UInt64 { state.withLock { $0.footer.currentSize } }
    public var uuid: VHDUUID { footer.uuid }
    public var isHidden: Bool { footer.isHidden }
    public var isDifferencing: Bool { diskType == .differencing }
    public var isWritable: Bool { options.writable }
    /// Whether the parent is a raw file (blktap: a differencing disk with a null parent UUID).
    public var hasRawParent: Bool { isDifferencing && (header?.parentUUID.isNull ?? false) }

    /// The blocks the virtual size spans (the BAT may hold more, preallocated).
    public var usedBlockCount: Int {
        guard let header else { return 0 }
        return Int(Layout.blockCount(size: virtualSize, blockSize: header.blockSize))
    }

    /// The end of all metadata, where blocks may start (`vhd_end_of_headers`).
    public var endOfHeaders: UInt64 {
        state.withLock { state in
            guard let header = state.header else { return 0 }
            return Layout.endOfHeaders(footer: state.footer, header: header, batmap: state.batmapHeader)
        }
    }

    /// The physical utilisation blktap's `query -s` reports: end of data plus the footer.
    public var physicalUtilisation: UInt64 {
        diskType.isSparse ? endOfData + UInt64(Footer.size) : store.size
    }

    /// The file offset of `block`'s sector bitmap, nil when the block is not allocated.
    public func blockOffset(_ block: Int) -> UInt64? {
        state.withLock { state in
            guard block < state.bat.count, state.bat.isAllocated(block) else { return nil }
            return UInt64(state.bat[block]) * sectorSize
        }
    }

    /// Whether the image records a batmap (tap 1.2+ dynamic or differencing disks).
    public var hasBatmap: Bool { batmapHeader != nil }

    static func computeEndOfData(
        footer: Footer, header: DynamicHeader, batmapHeader: BatmapHeader?, bat: BlockAllocationTable
    ) -> UInt64 {
        var end = Layout.endOfHeaders(footer: footer, header: header, batmap: batmapHeader)
        let blockSpan = header.bitmapSize + UInt64(header.blockSize)
        for entry in bat.entries where entry != BlockAllocationTable.unused {
            end = max(end, UInt64(entry) * sectorSize + blockSpan)
        }
        return end
    }
}
