#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An SR's self-description (`SRMetadata`: its record and every VDI's), kept inside the SR on a
/// `MetadataMedium`, so the SR shows the same VDIs with the same names on any host.
///
/// Each generation is a checksummed record (`ChecksummedRecord`: a header line with format
/// `swift-sm-sr-metadata`, version, length and CRC-32, then JSON with sorted keys, so equal
/// metadata is equal bytes). `save` first copies the intact current generation to the previous
/// slot, then writes the new one; `load` falls back to the previous generation, with a warning,
/// when the current one is missing, torn or damaged.
///
/// ```swift
/// let store = SRMetadataStore(medium: FileMetadataMedium(directory: srPath))
/// var metadata = try store.load()
/// metadata.vdis[uuid] = record
/// try store.save(metadata)
/// ```
public struct SRMetadataStore: Sendable {
    /// The header's `format` field of an SR metadata record.
    public static let recordFormat = "swift-sm-sr-metadata"
    /// The record layout version this code writes and the newest it reads.
    public static let recordVersion = 1
    /// The largest generation read or written: about 100,000 VDI records. A bigger file is
    /// damage (or an attack) and is treated as an unusable generation, never read whole.
    public static let maximumRecordSize = 64 << 20

    /// Metadata as `load` found it: the generation used and what was wrong with the other.
    public struct Loaded: Hashable, Sendable {
        public var metadata: SRMetadata
        /// The slot the metadata came from (`.previous` after a fallback).
        public var slot: MetadataSlot
        /// What was wrong, when the current generation could not be used.
        public var warnings: [String]
    }

    /// Where the metadata lives.
    public let medium: any MetadataMedium
    /// Receives the warnings of a fallback to the previous generation (SM logs such things).
    public let warning: @Sendable (String) -> Void

    /// A store on `medium`; `warning` receives fallback warnings.
    public init(medium: any MetadataMedium, warning: @escaping @Sendable (String) -> Void = { _ in }) {
        self.medium = medium
        self.warning = warning
    }

    /// The SR's metadata, from the current generation or, when that is missing or damaged, the
    /// previous one (reported to `warning`).
    ///
    /// - Throws: `SRError(.metadataError)` when the medium holds no metadata, when neither
    ///   generation is usable (naming what is wrong with each), or when a generation was
    ///   written by a newer version of this SM; the medium's read errors as they are.
    public func load() throws(SRError) -> SRMetadata {
        guard let loaded = try loadReportingFallback() else {
            throw SRError(.metadataError, opterr: "no SR metadata in \(medium.name)")
        }
        return loaded.metadata
    }

    /// Like `load`, but returns nil when the medium holds no metadata at all (a new SR) and
    /// says which generation was used and why.
    public func loadReportingFallback() throws(SRError) -> Loaded? {
        let current = try medium.read(.current, limit: Self.maximumRecordSize)
        var warnings: [String] = []
        if let current {
            switch decode(current) {
            case .success(let metadata): return Loaded(metadata: metadata, slot: .current, warnings: [])
            case .failure(.newer(let message)):
                throw SRError(.metadataError, opterr: "\(medium.name) (current): \(message)")
            case .failure(let failure):
                warnings.append("current SR metadata in \(medium.name) is unusable: \(failure)")
            }
        }
        guard let previous = try medium.read(.previous, limit: Self.maximumRecordSize) else {
            guard current != nil else { return nil }
            throw SRError(.metadataError, opterr: "\(warnings.joined(separator: "; ")); no previous generation")
        }
        switch decode(previous) {
        case .success(let metadata):
            if current == nil { warnings.append("current SR metadata in \(medium.name) is missing") }
            warnings.append("using the previous generation of SR metadata in \(medium.name)")
            warnings.forEach(warning)
            return Loaded(metadata: metadata, slot: .previous, warnings: warnings)
        case .failure(let failure):
            let currentState = current == nil ? "current SR metadata in \(medium.name) is missing" : warnings.joined()
            throw SRError(.metadataError, opterr: "\(currentState); previous generation is unusable: \(failure)")
        }
    }

    /// Writes `metadata` as the new current generation, keeping the intact current one as the
    /// previous generation (a damaged current one is not kept: the previous stays the last good).
    ///
    /// - Throws: `SRError(.metadataError)` when the current generation was written by a newer
    ///   version of this SM (overwriting it would lose what that version knows), or when
    ///   `metadata` is of a newer model version; the medium's write errors as they are.
    public func save(_ metadata: SRMetadata) throws(SRError) {
        guard metadata.version <= SRMetadata.currentVersion else {
            throw SRError(.metadataError, opterr: "cannot write SR metadata version \(metadata.version)")
        }
        let bytes = try Self.encode(metadata)
        guard bytes.count <= Self.maximumRecordSize else {
            throw SRError(
                .metadataError,
                opterr: "SR metadata would be \(bytes.count) bytes, more than the \(Self.maximumRecordSize) it may be")
        }
        if let read = try medium.read(.current, limit: Self.maximumRecordSize) {
            guard case .bytes(let current) = read else {
                warning("current SR metadata in \(medium.name) is unusable (\(read)); keeping the previous generation")
                try medium.write(bytes, to: .current)
                return
            }
            if current == bytes { return }
            switch Result(catching: { () throws(ChecksummedRecord.Defect) in
                try ChecksummedRecord.decode(current, format: Self.recordFormat, supportedVersion: Self.recordVersion)
            }) {
            case .success:
                try medium.write(current, to: .previous)
            case .failure(let defect):
                if case .newerVersion = defect {
                    throw SRError(.metadataError, opterr: "\(medium.name) (current): \(defect)")
                }
                warning(
                    "current SR metadata in \(medium.name) is unusable (\(defect)); keeping the previous generation")
            }
        }
        try medium.write(bytes, to: .current)
    }

    /// The bytes `save` writes for `metadata`: a checksummed record of its sorted-key JSON.
    public static func encode(_ metadata: SRMetadata) throws(SRError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let payload: Data
        do {
            payload = try encoder.encode(metadata)
        } catch {
            throw SRError(.metadataError, opterr: "cannot encode SR metadata: \(error)")
        }
        return ChecksummedRecord.encode(
            Array(payload) + [UInt8(ascii: "\n")], format: recordFormat, version: recordVersion)
    }

    private enum DecodeFailure: Error, CustomStringConvertible {
        case record(ChecksummedRecord.Defect)
        case newer(String)
        case payload(String)
        case oversized(size: UInt64, limit: Int)

        var description: String {
            switch self {
            case .oversized(let size, let limit): return "\(size) bytes, more than the \(limit) a generation may be"
            case .record(let defect): return defect.description
            case .newer(let message): return message
            case .payload(let message): return "undecodable SR metadata: \(message)"
            }
        }
    }

    private func decode(_ read: BoundedRead) -> Result<SRMetadata, DecodeFailure> {
        switch read {
        case .bytes(let bytes): return decode(bytes)
        case .oversized(let size, let limit): return .failure(.oversized(size: size, limit: limit))
        }
    }

    private func decode(_ bytes: [UInt8]) -> Result<SRMetadata, DecodeFailure> {
        let payload: ArraySlice<UInt8>
        do {
            payload = try ChecksummedRecord.decode(
                bytes, format: Self.recordFormat, supportedVersion: Self.recordVersion
            )
            .payload
        } catch {
            if case .newerVersion = error { return .failure(.newer(error.description)) }
            return .failure(.record(error))
        }
        let metadata: SRMetadata
        do {
            metadata = try JSONDecoder().decode(SRMetadata.self, from: Data(payload))
        } catch {
            return .failure(.payload("\(error)"))
        }
        guard metadata.version <= SRMetadata.currentVersion else {
            return .failure(
                .newer(
                    "SR metadata model version \(metadata.version); this SM reads up to \(SRMetadata.currentVersion)"))
        }
        if let defect = Self.defect(of: metadata) { return .failure(.payload(defect)) }
        return .success(metadata)
    }

    /// What makes decoded metadata unusable though its JSON is well formed: uuids become lock
    /// names and volume names, so a record keyed or linked by anything but a canonical uuid
    /// (`../x`, say) or filed under another uuid would let the damage reach outside the SR.
    static func defect(of metadata: SRMetadata) -> String? {
        guard Identifier.isUUID(metadata.sr.uuid) else { return "SR uuid \(metadata.sr.uuid.prefix(64).debugDescription)" }
        for (key, record) in metadata.vdis {
            guard Identifier.isUUID(key), record.uuid == key else {
                return "VDI record \(key.prefix(64).debugDescription) holds uuid \(record.uuid.prefix(64).debugDescription)"
            }
            guard record.parent.isEmpty || Identifier.isUUID(record.parent) else {
                return "VDI \(key) has parent \(record.parent.prefix(64).debugDescription)"
            }
        }
        return nil
    }
}
