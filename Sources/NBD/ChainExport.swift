import BlockIO
import Synchronization
import VHD

/// A VHD chain served over NBD: reads through the chain, writes to the leaf, block status from
/// the chain's allocated ranges (unallocated in every layer = hole and zero).
///
/// One lock (`lock`) serializes every call, so all connections share one engine and a FLUSH on
/// any of them covers the writes of all (what `NBD_FLAG_CAN_MULTI_CONN` promises).
public final class ChainExport: NBDExport, @unchecked Sendable {
    private let chain: Chain
    private let lock = Mutex(())
    public let isReadOnly: Bool
    public var size: UInt64 { chain.virtualSize }

    /// Serves `chain`; `readOnly` refuses writes even when the leaf is open read-write.
    public init(chain: Chain, readOnly: Bool = false) {
        self.chain = chain
        self.isReadOnly = readOnly || !chain.leaf.isWritable
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(NBDError) {
        try locked { () throws(VHDError) in try chain.read(into: buffer, at: offset) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(NBDError) {
        try locked { () throws(VHDError) in try chain.write(bytes, at: offset) }
    }

    public func flush() throws(NBDError) {
        try locked { () throws(VHDError) in try chain.leaf.flush() }
    }

    /// TRIM is a hint; releasing blocks is left to a later slice (issue 4), so it does nothing.
    public func trim(_ range: Range<UInt64>) throws(NBDError) {}

    /// Writes zeroes where the chain holds data; ranges no layer allocates already read as zero
    /// and are skipped unless `keepAllocated`.
    public func writeZeroes(_ range: Range<UInt64>, keepAllocated: Bool) throws(NBDError) {
        try locked { () throws(VHDError) in
            let targets = keepAllocated ? [range] : try allocatedRanges(in: range)
            let zeroes = [UInt8](repeating: 0, count: 1 << 20)
            for target in targets where !target.isEmpty {
                var offset = target.lowerBound
                while offset < target.upperBound {
                    let count = Int(min(UInt64(zeroes.count), target.upperBound - offset))
                    try zeroes.withWireBytes { (raw) throws(VHDError) in
                        try chain.write(UnsafeRawBufferPointer(rebasing: raw[..<count]), at: offset)
                    }
                    offset += UInt64(count)
                }
            }
        }
    }

    public func blockStatus(_ range: Range<UInt64>) throws(NBDError) -> [Extent] {
        let allocated = try locked { () throws(VHDError) in try allocatedRanges(in: range) }
        return Self.extents(of: range, allocated: allocated)
    }

    /// The parts of `range` some layer (or the raw base) holds data for, merged; looks only
    /// at the blocks `range` touches.
    func allocatedRanges(in range: Range<UInt64>) throws(VHDError) -> [Range<UInt64>] {
        var ranges: [Range<UInt64>] = []
        for image in chain.layers {
            let within = range.clamped(to: 0..<image.virtualSize)
            ranges += try image.extents(in: within).filter(\.isPresent).map(\.range)
        }
        if let rawBase = chain.rawBase {
            let within = range.clamped(to: 0..<min(rawBase.size, size))
            if !within.isEmpty {
                do { ranges += try rawBase.allocatedRanges(in: within) } catch { throw .io(error) }
            }
        }
        var merged: [Range<UInt64>] = []
        for piece in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) where !piece.isEmpty {
            if let last = merged.last, piece.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, piece.upperBound)
            } else {
                merged.append(piece)
            }
        }
        return merged
    }

    /// `range` cut into extents: allocated ranges as data (0), the gaps as hole and zero.
    static func extents(of range: Range<UInt64>, allocated: [Range<UInt64>]) -> [Extent] {
        var extents: [Extent] = []
        var cursor = range.lowerBound
        func emit(_ end: UInt64, _ flags: AllocationFlags) {
            guard end > cursor else { return }
            if let last = extents.last, last.flags == flags {
                extents[extents.count - 1].length += UInt32(end - cursor)
            } else {
                extents.append(Extent(length: UInt32(end - cursor), flags: flags))
            }
            cursor = end
        }
        for data in allocated where data.upperBound > cursor && data.lowerBound < range.upperBound {
            emit(max(cursor, data.lowerBound), [.hole, .zero])
            emit(min(range.upperBound, data.upperBound), [])
        }
        emit(range.upperBound, [.hole, .zero])
        return extents
    }

    private func locked<T>(_ body: () throws(VHDError) -> T) throws(NBDError) -> T {
        do {
            return try lock.withLock { _ throws(VHDError) in try body() }
        } catch {
            throw Self.map(error)
        }
    }

    /// Maps an engine error to the NBD error value the client sees.
    static func map(_ error: VHDError) -> NBDError {
        switch error {
        case .readOnly: return .export(errno: NBDErrno.eperm, message: "\(error)")
        case .noSpace: return .export(errno: NBDErrno.enospc, message: "\(error)")
        case .outOfRange, .unaligned, .invalidArgument: return .export(errno: NBDErrno.einval, message: "\(error)")
        default: return .export(errno: NBDErrno.eio, message: "\(error)")
        }
    }
}
