import BlockIO
import Foundation
import Glibc
import SM
import VHD

/// A file's identity and version as `stat` reports them: equal values mean the same file,
/// unchanged (a write moves its mtime, a rename or link its ctime, a replacement its inode).
struct FileIdentity: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Int64
    var changed: Int64

    /// The identity of the file at `path`; nil when there is none.
    /// The corresponding C function is `stat`.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
    }
}

/// Checks a file SR's directory against the VDI records `sm vdi-list --json` printed for it,
/// with the SR lock held by the caller so nothing changes underneath:
///
/// - every record's volume exists; a VHD one opens, passes `vhd-util check`, and its virtual
///   size, parent and hidden flag are the record's;
/// - nothing else is left: besides the records' volumes and the VHD parents their chains name,
///   only `sm-metadata.json`, `sm-metadata.json.prev` and whole spare leaves (`.spare-<GiB>-<slot>`)
///   may be there — no temporary file (`*.tmp-*`), intent or resize journal the load should
///   have finished, staging volume (`*.new`), half-made spare, or volume nothing references.
///
/// The layout is the ext/nfs SR's (`FileVolumeContainer`, `FileMetadataMedium`,
/// `IntentJournal`, `SpareLeaves`, `SREngine.journaledResize`).
struct SRAudit {
    /// One thing wrong, named by the invariant it breaks.
    struct Problem: Hashable, Sendable, CustomStringConvertible {
        /// `volume-missing`, `vhd-check`, `size-mismatch`, `leftover: temp file`, …
        var invariant: String
        /// The VDI uuid or the file name it is about.
        var subject: String
        var detail: String

        var description: String { "\(invariant): \(subject): \(detail)" }
    }

    /// What one audit found, and each record's chain as files (leaf first), whose identities
    /// tell the caller whether the VDI's content can have changed since it last looked.
    struct Report: Sendable {
        var problems: [Problem] = []
        var chains: [String: [FileIdentity]] = [:]
    }

    let directory: String
    let vhdUtil: SpawnedCommand
    /// Versions of files that passed `vhd-util check`: an unchanged file is not checked again.
    private var passedCheck: Set<FileIdentity> = []
    private var summaries: [FileIdentity: ImageSummary] = [:]

    init(directory: String, vhdUtil: SpawnedCommand) {
        self.directory = directory
        self.vhdUtil = vhdUtil
    }

    /// Audits `records`; those `skipped` says to (already reported broken) only count as
    /// referencing their volumes, and file names in `knownLeftovers` are not reported again.
    mutating func audit(records: [VDIJSON], skipped: (String) -> Bool, knownLeftovers: Set<String>) -> Report {
        var report = Report()
        var referenced: Set<String> = [FileMetadataMedium.fileName, FileMetadataMedium.previousFileName]
        for record in records {
            let volume = record.uuid + (record.volumeType == "raw" ? ".raw" : ".vhd")
            referenced.insert(volume)
            let chain = chainVolumes(from: volume)
            referenced.formUnion(chain.names)
            guard !skipped(record.uuid) else { continue }
            let problems = check(record, volume: volume, chain: chain)
            report.problems += problems
            if problems.isEmpty { report.chains[record.uuid] = chain.identities }
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.sorted() where !referenced.contains(name) && !knownLeftovers.contains(name) {
            if let invariant = leftover(name) {
                report.problems.append(Problem(invariant: invariant, subject: name, detail: describe(name)))
            }
        }
        return report
    }

    /// The record's own problems.
    private mutating func check(_ record: VDIJSON, volume: String, chain: VolumeChain) -> [Problem] {
        let path = directory + "/" + volume
        func problem(_ invariant: String, _ detail: String) -> Problem {
            Problem(invariant: invariant, subject: record.uuid, detail: detail)
        }
        guard let identity = FileIdentity(path: path) else {
            return [problem("volume-missing", "listed (\(label(record))) but \(volume) does not exist")]
        }
        if record.volumeType == "raw" {
            guard UInt64(identity.size) == record.virtualSize else {
                return [
                    problem("size-mismatch", "record says \(record.virtualSize) bytes, \(volume) has \(identity.size)")
                ]
            }
            return []
        }
        guard let summary = summary(of: volume) else {
            return [problem("vhd-unreadable", "\(volume) (\(identity.size) bytes) does not open as a VHD")]
        }
        var problems: [Problem] = []
        if let failure = vhdCheck(path, identity: identity) {
            problems.append(problem("vhd-check", "\(volume) (\(identity.size) bytes): \(failure)"))
        }
        if summary.virtualSize != record.virtualSize {
            problems.append(
                problem("size-mismatch", "record says \(record.virtualSize), the VHD's footer \(summary.virtualSize)"))
        }
        let parent = summary.parentReference.map { Self.uuid(ofVolume: Self.lastComponent($0)) } ?? ""
        if parent != record.parent {
            problems.append(problem("parent-mismatch", "record's parent '\(record.parent)', the VHD's '\(parent)'"))
        }
        if summary.isHidden != record.hidden {
            problems.append(problem("hidden-mismatch", "record hidden=\(record.hidden), the VHD's \(summary.isHidden)"))
        }
        if let missing = chain.missingParent {
            problems.append(problem("parent-missing", "the chain names \(missing), which does not exist"))
        }
        return problems
    }

    /// A chain as volume names and file identities, leaf first, and the first parent it names
    /// that is missing.
    struct VolumeChain {
        var names: [String] = []
        var identities: [FileIdentity] = []
        var missingParent: String?
    }

    private mutating func chainVolumes(from leaf: String) -> VolumeChain {
        var chain = VolumeChain()
        var current = leaf
        while chain.names.count < 64 {
            guard let identity = FileIdentity(path: directory + "/" + current) else {
                if current != leaf { chain.missingParent = current }
                break
            }
            chain.names.append(current)
            chain.identities.append(identity)
            guard current.hasSuffix(".vhd"), let reference = summary(of: current)?.parentReference else { break }
            current = Self.lastComponent(reference)
        }
        return chain
    }

    /// The VHD summary of `volume`, cached by file version; nil when it does not open.
    private mutating func summary(of volume: String) -> ImageSummary? {
        let path = directory + "/" + volume
        guard let identity = FileIdentity(path: path) else { return nil }
        if let known = summaries[identity] { return known }
        guard let store = try? FileBlockStore(path: path, readOnly: true),
            let read = try? ImageSummary.read(store: store, name: volume)
        else { return nil }
        summaries[identity] = read
        return read
    }

    /// nil when `vhd-util check -n path` passes, else what it said.
    private mutating func vhdCheck(_ path: String, identity: FileIdentity) -> String? {
        if passedCheck.contains(identity) { return nil }
        guard let outcome = try? vhdUtil.run(["check", "-n", path], timeout: .seconds(60)) else {
            return "vhd-util could not be run"
        }
        guard outcome.succeeded else {
            return "vhd-util check exits \(outcome.status): \((outcome.output + outcome.errorOutput).prefix(300))"
        }
        passedCheck.insert(identity)
        return nil
    }

    /// The invariant an unreferenced file breaks; nil when it may be there.
    private mutating func leftover(_ name: String) -> String? {
        if name.contains(".tmp-") { return "leftover: temp file" }
        if name.hasPrefix(".spare-") { return Self.isWholeSpareName(name) ? nil : "leftover: half-made spare" }
        if name.hasPrefix(IntentJournal.filePrefix) { return "leftover: intent not finished by the load" }
        if name.hasPrefix(".journal-") { return "leftover: resize journal not finished by the load" }
        if name.hasSuffix(".new") { return "leftover: staging volume" }
        guard let vdi = VDIVolumeNaming.files.vdi(of: name) else { return "leftover: unknown file" }
        let path = directory + "/" + name
        guard let identity = FileIdentity(path: path), identity.size > 0 else { return "leftover: empty volume" }
        if vdi.type == .vhd, summary(of: name) == nil || vhdCheck(path, identity: identity) != nil {
            return "leftover: half-written volume"
        }
        if vdi.type == .vhd, summary(of: name)?.isHidden == true { return "leftover: orphaned base copy" }
        return "leftover: unreferenced volume"
    }

    private func describe(_ name: String) -> String {
        let size = FileIdentity(path: directory + "/" + name).map { "\($0.size) bytes" } ?? "gone"
        return "\(name) (\(size)) is referenced by no listed VDI or chain"
    }

    private func label(_ record: VDIJSON) -> String {
        record.hidden ? "base copy" : "'\(record.nameLabel)'"
    }

    /// `.spare-<capacity GiB>-<slot>` (`SpareLeaves.volume`), not a `.tmp` one being made.
    static func isWholeSpareName(_ name: String) -> Bool {
        let parts = name.dropFirst(".spare-".count).split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    static func lastComponent(_ reference: String) -> String {
        reference.split(separator: "/").last.map(String.init) ?? reference
    }

    static func uuid(ofVolume volume: String) -> String {
        VDIVolumeNaming.files.vdi(of: volume)?.uuid ?? volume
    }
}
