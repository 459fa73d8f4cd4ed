/// The VHD checksum: the one's complement of the sum of all bytes of a structure, taken with
/// its own checksum field as zero (VHD spec, "Checksum"; the same rule for footer and header).
public enum Checksum {
    /// The checksum of `bytes`, skipping the four bytes at `fieldOffset` (the stored checksum).
    public static func compute(_ bytes: [UInt8], skippingFieldAt fieldOffset: Int?) -> UInt32 {
        var sum: UInt32 = 0
        for (index, byte) in bytes.enumerated() {
            if let fieldOffset, index >= fieldOffset, index < fieldOffset + 4 { continue }
            sum &+= UInt32(byte)
        }
        return ~sum
    }

    /// blktap batmap 1.1 summed the map as signed `char`s; 1.2 as unsigned bytes.
    public static func computeSigned(_ bytes: [UInt8]) -> UInt32 {
        var sum: Int32 = 0
        for byte in bytes { sum &+= Int32(Int8(bitPattern: byte)) }
        return ~UInt32(bitPattern: sum)
    }
}
