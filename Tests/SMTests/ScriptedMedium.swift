import Synchronization

@testable import SM

/// SR metadata on another medium (files, by default), with writes that fail as the test says: refused with `SRNoSpace`
/// (a file system with no room for the next generation), or landing and then failing (the
/// directory fsync after the rename), as `DurableFile.replace` can.
final class ScriptedMedium: MetadataMedium {
    enum Writes: UInt8, AtomicRepresentable {
        case succeed
        case refuseWithNoSpace
        case landThenFail
    }

    let files: any MetadataMedium
    let writes = Atomic<Writes>(.succeed)

    init(directory: String) { files = FileMetadataMedium(directory: directory) }

    init(over medium: any MetadataMedium) { files = medium }

    var name: String { files.name }

    func read(_ slot: MetadataSlot, limit: Int) throws(SRError) -> BoundedRead? { try files.read(slot, limit: limit) }

    func write(_ bytes: [UInt8], to slot: MetadataSlot) throws(SRError) {
        switch writes.load(ordering: .relaxed) {
        case .succeed:
            try files.write(bytes, to: slot)
        case .refuseWithNoSpace:
            throw SRError(.srNoSpace, opterr: "write \(name): no space left")
        case .landThenFail:
            try files.write(bytes, to: slot)
            if slot == .current { throw SRError(.smGeneral, opterr: "fsync \(name): Input/output error") }
        }
    }
}
