import Foundation
import Glibc
import SM
import TestSupport
import Testing

/// An SR on a small tmpfs, filled with a filler file until 0, 4 KiB, 8 KiB … 512 KiB are free,
/// with and without spare leaves; at each step `vdi-snapshot`, `vdi-clone` and `vdi-create` of
/// a VDI holding data may fail, with `SRNoSpace` and not a crash or a hang, but the SR stays
/// usable: while full, `vdi-list` and `vdi-export` work and the VDIs keep their bytes; once
/// the filler is gone every command works, a failed operation left no visible VDI, and nothing
/// unreferenced is left (`SRAudit`).
@Suite(.enabled(if: TmpfsMount.available && CLIHarness.binary != nil, "needs root (to mount a tmpfs) and a built sm"))
struct FullDiskTests {
    /// 16 steps of free space, in bytes.
    static let freeSpaceSteps = [0, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 160, 192, 256, 384, 512].map { $0 << 10 }

    @Test(.timeLimit(.minutes(30)))
    func snapshotCloneAndCreateOnAFullSRLeaveItUsable() async throws {
        let summary = try await onDedicatedThread(name: "full-disk") { try FullDiskSweep().run() }
        if summary.failures.isEmpty { print(summary.text) }
        #expect(summary.trials > 0)
        #expect(summary.failures.count == 0, Comment(rawValue: summary.text))
    }
}

struct FullDiskSummary: Sendable {
    var trials: Int
    var failures: [String]
    var text: String
}

/// The sweep: one trial per free-space step, spare-leaf state and operation, each on a new SR
/// with its own host state, all on one tmpfs. Used by one thread.
final class FullDiskSweep {
    static let vdiSize = 8 << 20
    static let operations = ["vdi-snapshot", "vdi-clone", "vdi-create"]

    let tmpfs: TmpfsMount
    let binary: String
    var findings: [(trial: String, operation: String, invariant: String, detail: String)] = []
    var outcomes: [String: [String]] = [:]
    var trial = ""
    var operation = ""

    init() throws {
        guard let binary = CLIHarness.binary else { throw KillLoopError("sm is not built next to the tests") }
        self.binary = binary
        tmpfs = try TmpfsMount(sizeMiB: 32)
    }

    func run() throws -> FullDiskSummary {
        defer { tmpfs.unmount() }
        let started = ContinuousClock.now
        var count = 0
        for free in FullDiskTests.freeSpaceSteps {
            for spares in [false, true] {
                for operation in Self.operations {
                    count += 1
                    trial = "\(free >> 10) KiB free, \(spares ? "spares" : "no spares")"
                    self.operation = operation
                    try runTrial(number: count, free: free, spares: spares)
                }
            }
        }
        return summary(trials: count, seconds: (ContinuousClock.now - started) / .seconds(1))
    }

    func fail(_ invariant: String, _ detail: String) {
        findings.append((trial, operation, invariant, String(detail.prefix(700))))
    }

    /// One trial: a new SR on the tmpfs holding VDI `V` (8 MiB, 3 MiB of seeded data), spares
    /// made or not, the free space set, the operation run, then the checks while full and after.
    func runTrial(number: Int, free: Int, spares: Bool) throws {
        let cli = try CLIHarness()
        let sm = SpawnedCommand(executable: binary, extra: cli.environment, outputPrefix: cli.path("sm"))
        let parent = tmpfs.path + "/trial-\(number)"
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let sr = try cli.ok("sr-create", "device-config:path=\(parent)", "name-label=full")
        let directory = parent + "/" + sr
        var data = [UInt8](repeating: 0, count: Self.vdiSize)
        data.replaceSubrange(1 << 20..<4 << 20, with: SeededRandom.pattern(seed: UInt64(number), count: 3 << 20))
        let raw = cli.path("data.raw")
        guard FileManager.default.createFile(atPath: raw, contents: Data(data)) else {
            throw KillLoopError("cannot write \(raw)")
        }
        let vdi = try cli.ok("vdi-import", "sr-uuid=\(sr)", "filename=\(raw)", "name-label=data")
        if spares { try cli.ok("sr-upkeep", "sr=\(sr)", "directory=\(directory)", "size=\(Self.vdiSize)") }
        var expected: [String: [UInt8]] = [vdi: data]

        let filler = tmpfs.path + "/filler"
        defer { unlink(filler) }
        let reached = tmpfs.fill(filler, leavingFree: free)
        guard reached == free else {
            fail("set-up", "could not leave exactly \(free) bytes free (reached \(reached))")
            return
        }
        if let created = try attempt(sm, sr: sr, vdi: vdi) {
            expected[created] = operation == "vdi-create" ? [UInt8](repeating: 0, count: Self.vdiSize) : data
        }
        outcomes[operation, default: []].append(trial + ": " + (expected.count > 1 ? "succeeded" : "failed"))
        checkWhileFull(sm, cli: cli, sr: sr, expected: expected)
        unlink(filler)
        try checkAfterFreeing(sm, cli: cli, sr: sr, directory: directory, vdi: vdi, expected: expected)
        waitForUpkeep(sr: sr)
    }

    /// Runs the operation on the full SR: it succeeds (its new VDI's uuid) or fails with
    /// `SRNoSpace` (nil); a signal, a hang or another error is a failure.
    func attempt(_ sm: SpawnedCommand, sr: String, vdi: String) throws -> String? {
        let arguments: [String]
        switch operation {
        case "vdi-snapshot": arguments = ["vdi-snapshot", "uuid=\(vdi)", "name-label=snapshot"]
        case "vdi-clone": arguments = ["vdi-clone", "uuid=\(vdi)", "new-name-label=clone"]
        default: arguments = ["vdi-create", "sr-uuid=\(sr)", "virtual-size=\(Self.vdiSize)", "name-label=new"]
        }
        let outcome = try sm.run(arguments, timeout: .seconds(60))
        if outcome.succeeded { return outcome.trimmedOutput }
        if outcome.signal != nil || outcome.exitCode == nil {
            fail("crash or hang", outcome.description)
        } else if !outcome.errorOutput.contains("SRNoSpace") {
            fail("error other than SRNoSpace", outcome.errorOutput)
        }
        return nil
    }

    /// Read-only commands work on the full SR, and the VDIs keep their bytes.
    func checkWhileFull(_ sm: SpawnedCommand, cli: CLIHarness, sr: String, expected: [String: [UInt8]]) {
        let visible = listVisible(sm, sr: sr, when: "while full")
        if let visible { checkVisible(visible, expected: expected, when: "while full") }
        for uuid in expected.keys.sorted() where visible?.contains(uuid) ?? true {
            checkExport(sm, cli: cli, uuid, expected[uuid] ?? [], when: "while full")
        }
    }

    /// With the filler gone: the listing, `sr-scan` and exports show exactly the expected
    /// VDIs with their bytes; snapshot, clone, create and destroy work; nothing is left over.
    func checkAfterFreeing(
        _ sm: SpawnedCommand, cli: CLIHarness, sr: String, directory: String, vdi: String, expected: [String: [UInt8]]
    ) throws {
        let when = "after freeing"
        guard let visible = listVisible(sm, sr: sr, when: when) else { return }
        checkVisible(visible, expected: expected, when: when)
        let scan = try sm.run(["sr-scan", "uuid=\(sr)"])
        if !scan.succeeded { fail("\(when): sr-scan fails", scan.description) }
        if let rescanned = listVisible(sm, sr: sr, when: "\(when), after sr-scan") {
            checkVisible(rescanned, expected: expected, when: "\(when), after sr-scan")
        }
        for uuid in expected.keys.sorted() { checkExport(sm, cli: cli, uuid, expected[uuid] ?? [], when: when) }
        var made: [String] = expected.keys.filter { $0 != vdi }
        for arguments in [
            ["vdi-snapshot", "uuid=\(vdi)"], ["vdi-clone", "uuid=\(vdi)"],
            ["vdi-create", "sr-uuid=\(sr)", "virtual-size=\(Self.vdiSize)"],
        ] {
            let outcome = try sm.run(arguments)
            if outcome.succeeded {
                made.append(outcome.trimmedOutput)
            } else {
                fail("\(when): \(arguments[0]) fails", outcome.description)
            }
        }
        for uuid in made {
            let outcome = try sm.run(["vdi-destroy", "uuid=\(uuid)"])
            if !outcome.succeeded { fail("\(when): vdi-destroy fails", outcome.description) }
        }
        checkExport(sm, cli: cli, vdi, expected[vdi] ?? [], when: "\(when), after more operations")
        waitForUpkeep(sr: sr)
        audit(sm, cli: cli, sr: sr, directory: directory)
    }

    /// The uuids of the visible VDIs `vdi-list` shows; nil (a failure) when it fails.
    func listVisible(_ sm: SpawnedCommand, sr: String, when: String) -> Set<String>? {
        guard let listing = list(sm, sr: sr) else {
            fail("\(when): vdi-list fails", (try? sm.run(["vdi-list", "sr-uuid=\(sr)"]))?.description ?? "")
            return nil
        }
        return Set(listing.filter { !$0.hidden }.map(\.uuid))
    }

    func list(_ sm: SpawnedCommand, sr: String) -> [VDIJSON]? {
        guard let outcome = try? sm.run(["vdi-list", "sr-uuid=\(sr)", "--json"]), outcome.succeeded,
            let listings = try? JSONDecoder().decode([VDIListingJSON].self, from: Data(outcome.output.utf8))
        else { return nil }
        return listings.first { $0.sr == sr }?.vdis
    }

    func checkVisible(_ visible: Set<String>, expected: [String: [UInt8]], when: String) {
        for uuid in visible.subtracting(expected.keys).sorted() {
            fail("\(when): a VDI the failed operation reported no success for is visible", uuid)
        }
        for uuid in Set(expected.keys).subtracting(visible).sorted() { fail("\(when): a VDI is missing", uuid) }
    }

    func checkExport(_ sm: SpawnedCommand, cli: CLIHarness, _ uuid: String, _ bytes: [UInt8], when: String) {
        let path = cli.path("export.raw")
        defer { unlink(path) }
        guard let outcome = try? sm.run(["vdi-export", "uuid=\(uuid)", "filename=\(path)", "format=raw"]) else {
            return
        }
        guard outcome.succeeded, let exported = KillLoop.contents(path) else {
            fail("\(when): vdi-export fails", outcome.description)
            return
        }
        if !KillLoop.same(exported, bytes) {
            fail("\(when): vdi-export content", "\(uuid) " + KillLoop.difference(exported, [bytes]))
        }
    }

    /// `SRAudit` under the SR lock: records consistent with volumes, nothing left over.
    func audit(_ sm: SpawnedCommand, cli: CLIHarness, sr: String, directory: String) {
        guard let listing = list(sm, sr: sr) else {
            fail("after freeing: vdi-list fails", "")
            return
        }
        let vhdUtil = URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("vhd-util").path
        var audit = SRAudit(
            directory: directory,
            vhdUtil: SpawnedCommand(executable: vhdUtil, extra: [:], outputPrefix: cli.path("vhd-util")))
        do {
            let lock = try LockDirectory(base: cli.environment["SM_LOCK_DIR"] ?? "").srLock(srUUID: sr)
            try lock.acquire(.exclusive, timeout: .seconds(60))
            defer { try? lock.release() }
            for problem in audit.audit(records: listing, skipped: { _ in false }, knownLeftovers: []).problems {
                fail("after freeing: " + problem.invariant, problem.subject + ": " + problem.detail)
            }
        } catch {
            fail("after freeing: SR lock", "\(error)")
        }
    }

    /// Waits (at most 20 s) until no `sm sr-upkeep` for `sr` runs: the detached upkeep a
    /// snapshot or create starts must not write into the next trial's filled file system.
    func waitForUpkeep(sr: String) {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, Self.upkeepRunning(sr: sr) { usleep(20_000) }
    }

    static func upkeepRunning(sr: String) -> Bool {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.contains { pid in
            guard pid.allSatisfy(\.isNumber), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
            else { return false }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.contains("sr-upkeep") && arguments.contains("sr=\(sr)")
        }
    }

    func summary(trials: Int, seconds: Double) -> FullDiskSummary {
        var lines = [
            String(
                format:
                    "full-disk sweep: %d trials in %.1f s (free space 0 to 512 KiB in 16 steps, with and without spares)",
                trials, seconds)
        ]
        for operation in Self.operations {
            let results = outcomes[operation] ?? []
            let succeeded = results.filter { $0.hasSuffix("succeeded") }.count
            lines.append("  \(operation): \(succeeded) of \(results.count) succeeded on the full SR")
        }
        var groups: [String: [String]] = [:]
        for finding in findings {
            groups["\(finding.operation) / \(finding.invariant)", default: []].append(finding.trial)
        }
        lines.append("full-disk sweep: \(findings.count) failures")
        for (key, trials) in groups.sorted(by: { $0.key < $1.key }) {
            lines.append(
                "  \(trials.count) × \(key) (at \(trials.prefix(6).joined(separator: "; "))\(trials.count > 6 ? "; …" : ""))"
            )
        }
        if !findings.isEmpty { lines.append("full-disk sweep: the first failures:") }
        for finding in findings.prefix(40) {
            lines.append("  [\(finding.trial)] \(finding.operation): \(finding.invariant): \(finding.detail)")
        }
        return FullDiskSummary(trials: trials, failures: findings.map { "\($0)" }, text: lines.joined(separator: "\n"))
    }
}
