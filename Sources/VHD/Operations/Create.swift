import Glibc
import BlockIO
import VHDFormat

/// What a new image's parent is, for a differencing disk: everything the header records.
public struct ParentSpec: Sendable, Equatable {
    /// The parent footer's UUID; null for a raw parent (blktap `snapshot -m`).
    public var uuid: VHDUUID
    /// The parent's modification time.
    public var timestamp: VHDTimestamp
    /// The parent's basename, stored UTF-16BE in the header.
    public var name: String
    /// The path stored in the locators, relative to the child ("./base.vhd", "../d/base.vhd").
    public var relativePath: String

    public init(uuid: VHDUUID, timestamp: VHDTimestamp, name: String, relativePath: String) {
        self.uuid = uuid
        self.timestamp = timestamp
        self.name = name
        self.relativePath = relativePath
    }
}

/// Creating images with blktap's layout (`__vhd_create`), so blktap, QEMU and libvhdi read them.
public enum Create {
    /// The largest virtual size the engine creates: 16 TiB, as large as blktap's `create` was
    /// seen to make (its BAT then holds 8 Mi entries; data still cannot pass 2 TiB of file).
    public static let maxVirtualSize: UInt64 = 16 << 40
    /// The largest size SM, xapi, QEMU and ocaml-vhd accept: 2040 GiB. The SR engine enforces it.
    public static let interoperableMaxVirtualSize: UInt64 = 2040 << 30

    /// The parameters of a new image.
    public struct Options: Sendable {
        public var virtualSize: UInt64
        public var diskType: DiskType
        public var blockSize: UInt32
        /// A virtual size to size the BAT for, beyond `virtualSize`, so a later fast resize
        /// needs no block moves (blktap `-S`).
        public var preallocatedSize: UInt64?
        public var parent: ParentSpec?
        public var uuid: VHDUUID
        public var timestamp: VHDTimestamp

        public init(
            virtualSize: UInt64, diskType: DiskType = .dynamic, blockSize: UInt32 = DynamicHeader.defaultBlockSize,
            preallocatedSize: UInt64? = nil, parent: ParentSpec? = nil, uuid: VHDUUID = .random(),
            timestamp: VHDTimestamp = .now()
        ) {
            // A VHD's size is whole sectors: QEMU reads it in sectors and writes are sector based.
            self.virtualSize = roundUp(virtualSize, to: sectorSize)
            self.diskType = parent == nil ? diskType : .differencing
            self.blockSize = blockSize
            self.preallocatedSize = preallocatedSize
            self.parent = parent
            self.uuid = uuid
            self.timestamp = timestamp
        }
    }

    /// Writes a new image onto `store` (which should be empty) and opens it read-write.
    public static func image(on store: any BlockStore, name: String? = nil, options: Options) throws(VHDError) -> Image {
        try write(on: store, options: options)
        return try Image.open(store: store, name: name, options: .readWrite)
    }

    /// The bytes a new sparse image of `options` takes before its first block: headers, BAT,
    /// batmap, locators and the footer.
    public static func emptyImageSize(_ options: Options) -> UInt64 { SparseMetadata(options).imageEnd }

    /// Writes a new image onto `store` (which should be empty) and flushes it.
    public static func write(on store: any BlockStore, options: Options) throws(VHDError) {
        try validate(options)
        let bytes = options.diskType == .fixed ? [] : sparseMetadata(options)
        try VHDError.wrap { () throws(BlockIOError) in
            if options.diskType == .fixed {
                if store.canGrow { try store.resize(to: options.virtualSize) }
                let footer = Footer(
                    diskType: .fixed, currentSize: options.virtualSize, uuid: options.uuid,
                    timestamp: options.timestamp, dataOffset: Footer.noDataOffset)
                let offset = store.canGrow ? options.virtualSize : store.size - UInt64(Footer.size)
                try store.write(footer.encoded(), at: offset)
            } else {
                if store.canGrow && store.size > UInt64(bytes.count) { try store.resize(to: 0) }
                try store.write(bytes, at: 0)
                if !store.canGrow {
                    try store.write(Array(bytes.suffix(Footer.size)), at: store.size - UInt64(Footer.size))
                }
            }
            try store.flush()
        }
    }

    static func validate(_ options: Options) throws(VHDError) {
        let blockSize = options.blockSize
        guard blockSize >= 512, blockSize <= HeaderValidation.maxBlockSize, blockSize & (blockSize - 1) == 0 else {
            throw .invalidArgument("block size \(blockSize) is not a power of two between 512 and \(HeaderValidation.maxBlockSize)")
        }
        guard options.diskType == .fixed || options.diskType.isSparse else {
            throw .invalidArgument("cannot create a disk of type \(options.diskType)")
        }
        let largest = max(options.virtualSize, options.preallocatedSize ?? 0)
        guard largest <= maxVirtualSize else {
            throw .invalidArgument("size \(largest) exceeds the maximum VHD size of \(maxVirtualSize) bytes (16 TiB)")
        }
    }

    /// The bytes of a new dynamic or differencing image: footer copy, header, BAT, batmap,
    /// locators, footer.
    static func sparseMetadata(_ options: Options) -> [UInt8] {
        SparseMetadata(options).bytes
    }
}

extension Array where Element == UInt8 {
    mutating func setBytesAt(_ bytes: [UInt8], _ offset: Int) {
        replaceSubrange(offset..<offset + bytes.count, with: bytes)
    }
}

extension VHDTimestamp {
    /// The current time.
    public static func now() -> VHDTimestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return VHDTimestamp(unixTime: Int64(spec.tv_sec))
    }
}
