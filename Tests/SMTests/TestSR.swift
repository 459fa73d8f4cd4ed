import BlockIO
import Foundation
import TestSupport
import Testing
import VHD

@testable import SM

/// The containers the engine suite runs over: the real directory, and in memory the semantics
/// of files and of LVs.
enum ContainerKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case directory
    case memoryFiles
    case memoryLVs

    var testDescription: String { rawValue }

    func makeContainer(in directory: TemporaryDirectory) -> any VolumeContainer {
        switch self {
        case .directory: FileVolumeContainer(directory: directory.path)
        case .memoryFiles: MemoryVolumeContainer(name: "memory-files", semantics: .files)
        case .memoryLVs: MemoryVolumeContainer(name: "memory-lvs", semantics: .logicalVolumes)
        }
    }
}

/// An SR over one kind of container, engine included, its metadata and journal on the records
/// the container provides (files in `directory` for `.directory`; memory otherwise).
final class TestSR: @unchecked Sendable {
    let kind: ContainerKind
    let directory: TemporaryDirectory
    let container: any VolumeContainer
    var engine: SREngine

    init(_ kind: ContainerKind = .directory, faultPoint: FaultPoint = .none) throws {
        self.kind = kind
        directory = try TemporaryDirectory(prefix: "sr")
        container = kind.makeContainer(in: directory)
        let storage = SRStorage(container: container)
        engine = try SREngine.create(
            sr: SRRecord(uuid: Identifier.newUUID(), nameLabel: "test", type: "ext"), container: container,
            metadataStore: storage.metadataStore, journal: storage.journal)
        engine.faultPoint = faultPoint
    }

    /// The SR a crash left: `image`'s records and volumes, loaded (recovery included).
    private init(kind: ContainerKind, image: CrashImage, srUUID: String) throws {
        self.kind = kind
        directory = image.directory
        container = image.container ?? kind.makeContainer(in: image.directory)
        engine = try Self.load(srUUID: srUUID, container: container)
    }

    private static func load(srUUID: String, container: any VolumeContainer) throws -> SREngine {
        let storage = SRStorage(container: container)
        return try SREngine.load(
            srUUID: srUUID, container: container, metadataStore: storage.metadataStore, journal: storage.journal)
    }

    /// The engine as the next process would load it (recovery included).
    func reload() throws -> SREngine { try Self.load(srUUID: engine.srUUID, container: container) }

    /// The volume of VHD VDI `uuid`, as this container names it.
    func volume(_ uuid: String, type: VDIRecord.VolumeType = .vhd) -> String {
        container.naming.volume(for: uuid, type: type)
    }

    func write(_ uuid: String, _ bytes: [UInt8], at offset: UInt64, engine: SREngine? = nil) throws {
        let chain = try (engine ?? self.engine).openChain(uuid, writable: true)
        try bytes.withUnsafeBytes { try chain.write($0, at: offset) }
    }

    func read(_ uuid: String, _ range: Range<UInt64>, engine: SREngine? = nil) throws -> [UInt8] {
        let chain = try (engine ?? self.engine).openChain(uuid, writable: false)
        var bytes = [UInt8](repeating: 0, count: range.count)
        try bytes.withUnsafeMutableBytes { try chain.read(into: $0, at: range.lowerBound) }
        return bytes
    }

    /// What a process killed at one point of an operation leaves: a copy of the volumes and
    /// records taken at that instant (of the directory, or of the memory container).
    final class CrashImage: @unchecked Sendable {
        var directory: TemporaryDirectory
        var container: (any VolumeContainer)?
        var taken = false

        init() throws { directory = try TemporaryDirectory(prefix: "crash") }
    }

    /// A fault point that, at `point`, copies the SR into `image` and stops the operation (the
    /// throw then runs the inline undo on the original, which the copy never sees).
    func crash(at point: String, into image: CrashImage) -> FaultPoint {
        let source = directory.path
        let container = container
        return FaultPoint { reached throws(SRError) in
            guard reached == point, !image.taken else { return }
            image.taken = true
            if let memory = container as? MemoryVolumeContainer {
                image.container = memory.snapshot()
            } else {
                let copy = Process()
                copy.executableURL = URL(fileURLWithPath: "/bin/cp")
                copy.arguments = ["-a", source + "/.", image.directory.path]
                try? copy.run()
                copy.waitUntilExit()
            }
            throw SRError(.fistPoint, opterr: "killed at \(point)")
        }
    }

    /// The SR as the next load finds it after the crash `image` recorded.
    func recovered(from image: CrashImage) throws -> TestSR {
        try TestSR(kind: kind, image: image, srUUID: engine.srUUID)
    }
}
