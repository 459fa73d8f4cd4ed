import Synchronization

/// A store in memory, sparse at page granularity: for tests, the fuzzer and scratch space.
///
/// Pages (4 KiB by default) are kept in a dictionary, so a huge, mostly empty store costs only
/// the pages written. An unwritten page reads as zeros; a write allocates every page it
/// touches; a discard drops the pages it covers whole and zeroes the parts of pages it covers
/// partly. `allocatedRanges` reports the allocated pages, as a file system reports blocks.
///
/// Locking: `state` (a `Mutex`) guards the size and the pages; every call holds it for its
/// whole duration, so calls are atomic with respect to each other.
public final class MemoryBlockStore: BlockStore {
    /// The bytes in a page.
    public let pageSize: Int
    public let name: String
    public let canGrow: Bool
    public let isReadOnly: Bool
    public var size: UInt64 { state.withLock { $0.size } }

    private struct State {
        var size: UInt64
        /// Page index → exactly `pageSize` bytes.
        var pages: [UInt64: [UInt8]]
    }

    private let state: Mutex<State>

    /// An empty store of `size` bytes (all zeros, nothing allocated).
    ///
    /// - Parameters:
    ///   - canGrow: whether writes past `size` and `resize(to:)` grow it; a fixed store acts
    ///     like a block device.
    ///   - pageSize: the allocation granularity, a power of two.
    public init(
        name: String = "memory",
        size: UInt64 = 0,
        canGrow: Bool = true,
        readOnly: Bool = false,
        pageSize: Int = 4096
    ) {
        precondition(pageSize > 0 && pageSize & (pageSize - 1) == 0, "pageSize must be a power of two")
        self.name = name
        self.pageSize = pageSize
        self.canGrow = canGrow
        self.isReadOnly = readOnly
        self.state = Mutex(State(size: size, pages: [:]))
    }

    /// A growable store holding `bytes`, with every page they touch allocated.
    public convenience init(name: String = "memory", bytes: [UInt8], pageSize: Int = 4096) {
        self.init(name: name, size: UInt64(bytes.count), pageSize: pageSize)
        state.withLock { state in
            bytes.withUnsafeBytes { Self.store($0, at: 0, in: &state, pageSize: pageSize) }
        }
    }

    /// An independent copy of the store's current contents, for snapshots in crash tests.
    public func copy(name: String? = nil, readOnly: Bool? = nil) -> MemoryBlockStore {
        let copy = MemoryBlockStore(
            name: name ?? self.name,
            canGrow: canGrow,
            readOnly: readOnly ?? isReadOnly,
            pageSize: pageSize
        )
        let snapshot = state.withLock { $0 }
        copy.state.withLock { $0 = snapshot }
        return copy
    }

    /// The number of pages holding data.
    public var allocatedPageCount: Int { state.withLock { $0.pages.count } }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BlockIOError) {
        try state.withLock { (state) throws(BlockIOError) in
            try Self.check(offset, buffer.count, within: state.size, store: name, operation: "read")
            var done = 0
            while done < buffer.count {
                let (page, within) = location(of: offset + UInt64(done))
                let count = min(pageSize - within, buffer.count - done)
                let target = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + count])
                if let bytes = state.pages[page] {
                    bytes.withUnsafeBytes {
                        target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[within..<within + count]))
                    }
                } else {
                    target.initializeMemory(as: UInt8.self, repeating: 0)
                }
                done += count
            }
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BlockIOError) {
        if isReadOnly { throw .readOnly(store: name) }
        try state.withLock { (state) throws(BlockIOError) in
            let (end, overflow) = offset.addingReportingOverflow(UInt64(bytes.count))
            if overflow || (end > state.size && !canGrow) {
                throw .outOfRange(
                    store: name,
                    operation: "write",
                    offset: offset,
                    count: UInt64(bytes.count),
                    size: state.size
                )
            }
            Self.store(bytes, at: offset, in: &state, pageSize: pageSize)
            state.size = max(state.size, end)
        }
    }

    /// Does nothing: memory is as durable as it gets.
    public func flush() throws(BlockIOError) {}

    /// Sets the size; shrinking drops the pages past the new end and zeroes the tail of the
    /// last one, so growing again reads zeros. A fixed store throws `.unsupported` unless
    /// `size` is unchanged.
    public func resize(to newSize: UInt64) throws(BlockIOError) {
        if isReadOnly { throw .readOnly(store: name) }
        try state.withLock { (state) throws(BlockIOError) in
            if newSize == state.size { return }
            if !canGrow { throw .unsupported(store: name, operation: "resize") }
            if newSize < state.size {
                Self.clear(newSize..<state.size, in: &state, pageSize: pageSize)
                let page = UInt64(pageSize)
                let keptPages = newSize / page + (newSize % page == 0 ? 0 : 1)
                state.pages = state.pages.filter { $0.key < keptPages }
            }
            state.size = newSize
        }
    }

    public func discard(_ range: Range<UInt64>) throws(BlockIOError) {
        if isReadOnly { throw .readOnly(store: name) }
        try state.withLock { (state) throws(BlockIOError) in
            let count = range.upperBound - range.lowerBound
            try Self.check(range.lowerBound, count, within: state.size, store: name, operation: "discard")
            Self.clear(range, in: &state, pageSize: pageSize)
        }
    }

    /// The allocated pages within `range`, joined into runs and clamped to `range` and `size`.
    public func allocatedRanges(in range: Range<UInt64>) throws(BlockIOError) -> [Range<UInt64>] {
        state.withLock { state in
            let wanted = range.clamped(to: 0..<state.size)
            guard !wanted.isEmpty else { return [] }
            let page = UInt64(pageSize)
            let indices = state.pages.keys.filter { $0 >= wanted.lowerBound / page && $0 * page < wanted.upperBound }
            var result: [Range<UInt64>] = []
            for index in indices.sorted() {
                let run = (index * page..<index * page + page).clamped(to: wanted)
                if let last = result.last, last.upperBound == run.lowerBound {
                    result[result.count - 1] = last.lowerBound..<run.upperBound
                } else {
                    result.append(run)
                }
            }
            return result
        }
    }

    /// The page holding `offset` and the position within it.
    private func location(of offset: UInt64) -> (page: UInt64, within: Int) {
        (offset / UInt64(pageSize), Int(offset % UInt64(pageSize)))
    }

    private static func check<Count: BinaryInteger>(
        _ offset: UInt64,
        _ count: Count,
        within size: UInt64,
        store: String,
        operation: String
    ) throws(BlockIOError) {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        if overflow || end > size {
            throw .outOfRange(store: store, operation: operation, offset: offset, count: UInt64(count), size: size)
        }
    }

    /// Copies `bytes` into the pages at `offset`, allocating pages as needed.
    private static func store(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, in state: inout State, pageSize: Int)
    {
        var done = 0
        while done < bytes.count {
            let position = offset + UInt64(done)
            let page = position / UInt64(pageSize)
            let within = Int(position % UInt64(pageSize))
            let count = min(pageSize - within, bytes.count - done)
            let source = UnsafeRawBufferPointer(rebasing: bytes[done..<done + count])
            state.pages[page, default: [UInt8](repeating: 0, count: pageSize)].withUnsafeMutableBytes {
                UnsafeMutableRawBufferPointer(rebasing: $0[within...]).copyMemory(from: source)
            }
            done += count
        }
    }

    /// Drops the pages `range` covers whole and zeroes the parts of the pages it covers partly.
    private static func clear(_ range: Range<UInt64>, in state: inout State, pageSize: Int) {
        guard !range.isEmpty else { return }
        let page = UInt64(pageSize)
        let firstWhole = (range.lowerBound + page - 1) / page
        let endWhole = range.upperBound / page
        if firstWhole < endWhole {
            if endWhole - firstWhole < UInt64(state.pages.count) {
                for index in firstWhole..<endWhole { state.pages[index] = nil }
            } else {
                state.pages = state.pages.filter { $0.key < firstWhole || $0.key >= endWhole }
            }
        }
        for index in Set([range.lowerBound / page, (range.upperBound - 1) / page]) {
            guard state.pages[index] != nil else { continue }
            let zeroed = range.clamped(to: index * page..<index * page + page)
            guard !zeroed.isEmpty, zeroed.upperBound - zeroed.lowerBound < page else { continue }
            let start = Int(zeroed.lowerBound - index * page)
            let end = Int(zeroed.upperBound - index * page)
            state.pages[index]?.replaceSubrange(start..<end, with: repeatElement(0, count: end - start))
        }
    }
}
