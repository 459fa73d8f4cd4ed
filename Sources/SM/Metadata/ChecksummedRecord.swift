#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The envelope of every record the SM core writes: one JSON header line naming the format,
/// its version, the payload's length and CRC-32, then the payload bytes (JSON as well):
///
/// ```
/// {"crc32":"cbf43926","format":"swift-sm-sr-metadata","length":9,"version":1}
/// {"sr":…}
/// ```
///
/// Decoding checks each in turn, so a torn write (short payload), a flipped bit (checksum), a
/// foreign file (format) or a newer writer (version) is named, never trusted.
enum ChecksummedRecord {
    /// What is wrong with a record's bytes.
    enum Defect: Error, Equatable, CustomStringConvertible {
        case empty
        case missingHeader
        case unreadableHeader
        case wrongFormat(found: String, expected: String)
        case newerVersion(found: Int, supported: Int)
        case lengthMismatch(stated: Int, actual: Int)
        case checksumMismatch(stored: String, computed: String)

        var description: String {
            switch self {
            case .empty: return "the record is empty"
            case .missingHeader: return "no header line (torn or foreign file)"
            case .unreadableHeader: return "the header line is not a record header"
            case .wrongFormat(let found, let expected): return "format is '\(found)', expected '\(expected)'"
            case .newerVersion(let found, let supported):
                return "written by format version \(found); this SM reads up to version \(supported)"
            case .lengthMismatch(let stated, let actual):
                return "payload is \(actual) bytes, the header states \(stated) (torn write)"
            case .checksumMismatch(let stored, let computed):
                return "payload checksum mismatch: stored crc32 \(stored), computed \(computed)"
            }
        }
    }

    private struct Header: Codable {
        var crc32: String
        var format: String
        var length: Int
        var version: Int
    }

    /// The longest header line accepted; a longer first line is not a header.
    static let maximumHeaderLength = 1024

    /// `payload` with its header line in front.
    static func encode(_ payload: [UInt8], format: String, version: Int) -> [UInt8] {
        let crc = hex(CRC32.checksum(payload))
        let header =
            "{\"crc32\":\"\(crc)\",\"format\":\"\(format)\",\"length\":\(payload.count),\"version\":\(version)}\n"
        return Array(header.utf8) + payload
    }

    /// The payload and version of a record, after checking its header, length and checksum.
    static func decode(
        _ bytes: [UInt8], format: String, supportedVersion: Int
    ) throws(Defect) -> (version: Int, payload: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { throw .empty }
        let searched = bytes.prefix(maximumHeaderLength)
        guard let newline = searched.firstIndex(of: UInt8(ascii: "\n")) else { throw .missingHeader }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes[..<newline]))
        } catch {
            throw .unreadableHeader
        }
        guard header.format == format else { throw .wrongFormat(found: header.format, expected: format) }
        guard header.version <= supportedVersion else {
            throw .newerVersion(found: header.version, supported: supportedVersion)
        }
        let payload = bytes[(newline + 1)...]
        guard header.length == payload.count else {
            throw .lengthMismatch(stated: header.length, actual: payload.count)
        }
        let computed = hex(CRC32.checksum(payload))
        guard header.crc32.lowercased() == computed else {
            throw .checksumMismatch(stored: header.crc32, computed: computed)
        }
        return (header.version, payload)
    }

    /// Eight lower-case hex digits.
    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
