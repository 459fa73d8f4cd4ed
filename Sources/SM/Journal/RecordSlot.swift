/// One generation of every record of a `VolumeRecordMedium`, as it lies in one of the volume's
/// two slots: a 64-byte header, then the records. Pure format code, no I/O.
///
/// ```
///  0  8  magic "SMRECSET"          32  8  slot size (half the volume when written)
///  8  4  format version (1)        40  8  payload length
/// 12  4  header length (64)        48  4  payload CRC-32
/// 16  8  generation                52  8  medium id (random, the same in both slots)
/// 24  8  slot offset               60  4  header CRC-32 (of bytes 0..<60)
/// payload: u32 count, then per record (by name): u16 name length, name (UTF-8), u32 length, bytes
/// ```
///
/// Big-endian, as VHD. A slot's header states where it lies and how big the slot was, so a
/// stale copy left at another offset (before a growth, or by an earlier volume on the same
/// extents) is never taken for the current one; slot A alone may state a smaller slot than
/// the volume now has (it was written before the volume grew).
struct RecordSlot: Equatable, Sendable {
    static let magic: [UInt8] = Array("SMRECSET".utf8)
    static let version: UInt32 = 1
    static let headerSize = 64
    /// The longest record name: a `u16` length, and names are short.
    static let maximumNameLength = 1024

    var generation: UInt64
    var offset: UInt64
    var slotSize: UInt64
    var mediumID: UInt64
    var records: [String: [UInt8]]

    /// What is wrong with the bytes found in a slot.
    enum Defect: Error, Equatable, CustomStringConvertible {
        case blank
        case foreign
        case newerVersion(UInt32)
        case headerChecksum
        case misplaced(statedOffset: UInt64, statedSize: UInt64)
        case payloadTooLong(UInt64)
        case payloadChecksum
        case malformedPayload(String)

        var description: String {
            switch self {
            case .blank: return "never written"
            case .foreign: return "not a record set (bad magic)"
            case .newerVersion(let found): return "written by format version \(found); this SM reads version \(RecordSlot.version)"
            case .headerChecksum: return "header checksum mismatch (torn or damaged)"
            case .misplaced(let offset, let size):
                return "a stale copy (it states offset \(offset) in a \(size)-byte slot)"
            case .payloadTooLong(let length): return "payload length \(length) does not fit in the slot"
            case .payloadChecksum: return "payload checksum mismatch (torn or damaged)"
            case .malformedPayload(let why): return "malformed payload: \(why)"
            }
        }
    }

    /// The header fields, once the header is checked.
    struct Header: Equatable {
        var generation: UInt64
        var mediumID: UInt64
        var payloadLength: UInt64
        var payloadChecksum: UInt32
    }

    // MARK: Encoding

    /// The payload: every record in name order.
    static func encodePayload(_ records: [String: [UInt8]]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + records.reduce(0) { $0 + 6 + $1.key.utf8.count + $1.value.count })
        append(UInt32(records.count), to: &bytes)
        for (name, data) in records.sorted(by: { $0.key < $1.key }) {
            append(UInt16(name.utf8.count), to: &bytes)
            bytes += name.utf8
            append(UInt32(data.count), to: &bytes)
            bytes += data
        }
        return bytes
    }

    /// Header and payload, ready to be written at `offset`.
    func encoded() -> [UInt8] {
        let payload = Self.encodePayload(records)
        var bytes = Self.magic
        bytes.reserveCapacity(Self.headerSize + payload.count)
        Self.append(Self.version, to: &bytes)
        Self.append(UInt32(Self.headerSize), to: &bytes)
        Self.append(generation, to: &bytes)
        Self.append(offset, to: &bytes)
        Self.append(slotSize, to: &bytes)
        Self.append(UInt64(payload.count), to: &bytes)
        Self.append(CRC32.checksum(payload), to: &bytes)
        Self.append(mediumID, to: &bytes)
        Self.append(CRC32.checksum(bytes), to: &bytes)
        return bytes + payload
    }

    /// The bytes a slot of `records` takes.
    static func encodedSize(of records: [String: [UInt8]]) -> UInt64 {
        UInt64(headerSize + 4 + records.reduce(0) { $0 + 6 + $1.key.utf8.count + $1.value.count })
    }

    // MARK: Decoding

    /// The header found at `offset` in a slot of `slotSize` bytes.
    static func decodeHeader(_ bytes: [UInt8], offset: UInt64, slotSize: UInt64) throws(Defect) -> Header {
        guard bytes.count >= headerSize else { throw .blank }
        let header = Array(bytes.prefix(headerSize))
        if header.allSatisfy({ $0 == 0 }) { throw .blank }
        guard Array(header[0..<8]) == magic else { throw .foreign }
        guard readUInt32(header, 60) == CRC32.checksum(header[0..<60]) else { throw .headerChecksum }
        let version = readUInt32(header, 8)
        guard version == Self.version, readUInt32(header, 12) == UInt32(headerSize) else {
            throw .newerVersion(version)
        }
        let statedOffset = readUInt64(header, 24)
        let statedSize = readUInt64(header, 32)
        // Slot A may state a smaller slot: the volume grew and slot B was not written yet.
        guard statedOffset == offset, offset == 0 ? statedSize <= slotSize : statedSize == slotSize else {
            throw .misplaced(statedOffset: statedOffset, statedSize: statedSize)
        }
        let length = readUInt64(header, 40)
        guard statedSize >= UInt64(headerSize), length <= statedSize - UInt64(headerSize) else {
            throw .payloadTooLong(length)
        }
        return Header(
            generation: readUInt64(header, 16), mediumID: readUInt64(header, 52), payloadLength: length,
            payloadChecksum: readUInt32(header, 48))
    }

    /// The records of a payload whose header is `header`.
    static func decodePayload(_ payload: [UInt8], header: Header) throws(Defect) -> [String: [UInt8]] {
        guard UInt64(payload.count) == header.payloadLength, CRC32.checksum(payload) == header.payloadChecksum else {
            throw .payloadChecksum
        }
        var cursor = 0
        func take(_ count: Int) throws(Defect) -> ArraySlice<UInt8> {
            guard count <= payload.count - cursor else { throw .malformedPayload("truncated at byte \(cursor)") }
            defer { cursor += count }
            return payload[cursor..<(cursor + count)]
        }
        let count = Int(readUInt32(Array(try take(4)), 0))
        var records: [String: [UInt8]] = [:]
        var previous: String?
        for index in 0..<count {
            let nameLength = Int(readUInt16(Array(try take(2)), 0))
            guard nameLength > 0, nameLength <= maximumNameLength else {
                throw .malformedPayload("record \(index) has a name of \(nameLength) bytes")
            }
            guard let name = String(validating: try take(nameLength), as: UTF8.self) else {
                throw .malformedPayload("record \(index) has a name that is not UTF-8")
            }
            guard previous.map({ $0 < name }) ?? true else {
                throw .malformedPayload("record '\(name)' is out of order or repeated")
            }
            let length = Int(readUInt32(Array(try take(4)), 0))
            records[name] = Array(try take(length))
            previous = name
        }
        guard cursor == payload.count else { throw .malformedPayload("\(payload.count - cursor) bytes after the last record") }
        return records
    }

    // MARK: Big-endian integers

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes += $0 }
    }

    private static func readUInt16(_ bytes: [UInt8], _ at: Int) -> UInt16 {
        UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1])
    }

    private static func readUInt32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (at..<(at + 4)).reduce(0) { $0 << 8 | UInt32(bytes[$1]) }
    }

    private static func readUInt64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        (at..<(at + 8)).reduce(0) { $0 << 8 | UInt64(bytes[$1]) }
    }
}
