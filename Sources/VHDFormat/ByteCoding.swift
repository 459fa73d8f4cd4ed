/// Big-endian field access on a byte array, the encoding of every VHD structure
/// (VHD spec: "All values in the file format are stored in big-endian format").
extension Array where Element == UInt8 {
    @inline(__always)
    func bigEndianUInt16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    @inline(__always)
    func bigEndianUInt32(at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in 0..<4 { value = value << 8 | UInt32(self[offset + index]) }
        return value
    }

    @inline(__always)
    func bigEndianUInt64(at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<8 { value = value << 8 | UInt64(self[offset + index]) }
        return value
    }

    @inline(__always)
    mutating func setBigEndian(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(truncatingIfNeeded: value >> 8)
        self[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    @inline(__always)
    mutating func setBigEndian(_ value: UInt32, at offset: Int) {
        for index in 0..<4 { self[offset + index] = UInt8(truncatingIfNeeded: value >> (24 - 8 * index)) }
    }

    @inline(__always)
    mutating func setBigEndian(_ value: UInt64, at offset: Int) {
        for index in 0..<8 { self[offset + index] = UInt8(truncatingIfNeeded: value >> (56 - 8 * index)) }
    }

    func bytes(at offset: Int, count: Int) -> [UInt8] { Array(self[offset..<offset + count]) }

    mutating func setBytes(_ bytes: [UInt8], at offset: Int) {
        replaceSubrange(offset..<offset + bytes.count, with: bytes)
    }

    /// The bytes up to the first NUL, as text (for cookies and creator fields).
    func asciiField(at offset: Int, count: Int) -> String {
        let field = self[offset..<offset + count]
        let text = field.prefix { $0 != 0 }
        return String(decoding: text, as: UTF8.self)
    }

    /// Whether every byte in `range` is zero.
    func isZero(_ range: Range<Int>) -> Bool { self[range].allSatisfy { $0 == 0 } }
}

/// Rounds `value` up to a multiple of `alignment` (a power of two).
@inline(__always)
public func roundUp(_ value: UInt64, to alignment: UInt64) -> UInt64 {
    (value + alignment - 1) & ~(alignment - 1)
}

/// `ceil(value / divisor)`.
@inline(__always)
public func divideRoundingUp(_ value: UInt64, _ divisor: UInt64) -> UInt64 {
    value / divisor + (value % divisor == 0 ? 0 : 1)
}

/// The size of a VHD sector, the unit of every sector offset in the format.
public let sectorSize: UInt64 = 512
