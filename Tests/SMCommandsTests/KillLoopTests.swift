import BlockIO
import Foundation
import Glibc
import SM
import TestSupport
import Testing
import VHD

/// Kills `sm` with `SIGKILL` at random instants in the middle of create, import (raw and VHD),
/// snapshot, clone, revert, resize and destroy, and after each kill checks, through the next
/// commands, that the SR is what its model says: every listed VDI exports exactly its model's
/// bytes (the killed operation may have happened or not, nothing in between), no listed VDI
/// lacks its volume or fails `vhd-util check`, and nothing unreferenced is left in the SR.
///
/// Bounded by an iteration count and a time budget, whichever comes first:
/// `KILLLOOP_ITERATIONS` (default 400), `KILLLOOP_SECONDS` (150); `KILLLOOP_SEED` replays a
/// run's choices (kill instants depend on timing too). The loop runs on a thread of its own.
@Suite(.enabled(if: CLIHarness.binary != nil, "sm is not built next to the tests"))
struct KillLoopTests {
    /// Bounded by the loop's own budget: every command it runs is killed after 120 s at most.
    @Test
    func killedOperationsLeaveTheSRAsTheModelSays() async throws {
        let settings = KillLoop.Settings(environment: ProcessInfo.processInfo.environment)
        let summary = try await onDedicatedThread(name: "kill-loop") { try KillLoop(settings: settings).run() }
        if summary.failures.isEmpty { print(summary.text) }
        #expect(summary.iterations > 0)
        #expect(summary.failures.count == 0, Comment(rawValue: summary.text))
    }
}

/// One broken invariant, seen after one iteration.
struct KillLoopFinding: Sendable {
    var iteration: Int
    /// `create`, `import-raw`, `import-vhd`, `snapshot`, `clone`, `revert`, `resize`, `destroy`.
    var operation: String
    /// When the kill landed ("killed at 18.2 ms of a typical 41 ms"), or that there was none.
    var timing: String
    var invariant: String
    var detail: String

    var line: String { "#\(iteration) \(operation) \(timing): \(invariant): \(detail)" }
}

/// What a run did and found; `text` is what it prints.
struct KillLoopSummary: Sendable {
    var iterations: Int
    var failures: [KillLoopFinding]
    var text: String
}

/// The loop's state: the SR, its model, and what was found. Used by one thread.
final class KillLoop {
    struct Settings: Sendable {
        var iterations = 400
        var seconds = 150.0
        var seed: UInt64
        /// Every this many iterations every VDI is exported, whether or not its files changed.
        var fullExportEvery = 8
        /// Every this many iterations the first command after the kill is `sr-scan`.
        var scanEvery = 7

        init(environment: [String: String]) {
            iterations = environment["KILLLOOP_ITERATIONS"].flatMap { Int($0) } ?? iterations
            seconds = environment["KILLLOOP_SECONDS"].flatMap { Double($0) } ?? seconds
            seed = SeededRandom.seed(fromEnvironment: "KILLLOOP_SEED", environment)
        }
    }

    /// What the killed command was asked to do.
    enum Operation {
        case create(name: String, size: Int)
        case importFile(Fixture, name: String)
        case snapshot(of: String, name: String)
        case clone(of: String, name: String)
        case revert(String, to: String)
        case resize(String, to: Int)
        case destroy(String)
    }

    /// What the operation does to the model when it happens.
    enum Effect {
        case adds(content: [UInt8], name: String, snapshotOf: String?)
        case changes(String, to: [UInt8])
        case removes(String)
        case none
    }

    /// An image file to import, and the bytes the VDI made from it holds.
    struct Fixture {
        var path: String
        var format: String
        var content: [UInt8]
    }

    static let mebibyte = 1 << 20
    static let kinds = ["create", "import-raw", "import-vhd", "snapshot", "clone", "revert", "resize", "destroy"]

    let settings: Settings
    let cli: CLIHarness
    let sm: SpawnedCommand
    let sr: String
    let srDirectory: String
    let srLock: LockFile
    var audit: SRAudit
    var random: SeededRandom
    var fixtures: [Fixture] = []
    /// The visible VDIs the loop vouches for, and their bytes.
    var model: [String: [UInt8]] = [:]
    /// Every record of the last listing, base copies too.
    var records: [String: VDIJSON] = [:]
    /// VDIs already reported broken: left out of further operations and checks.
    var quarantined: Set<String> = []
    /// Leftover files already reported, and the iteration whose kill left each.
    var knownLeftovers: [String: Context] = [:]
    /// Each VDI's chain (file versions) when its export last matched, and those bytes.
    var verified: [String: (chain: [FileIdentity], content: [UInt8])] = [:]
    var chains: [String: [FileIdentity]] = [:]
    var durations: [String: [Double]] = [:]
    var runs: [String: (total: Int, killed: Int)] = [:]
    var unkilled = (measuring: 0, endedFirst: 0)
    var findings: [KillLoopFinding] = []
    typealias Context = (iteration: Int, operation: String, timing: String)
    var context: Context = (0, "setup", "")
    var startupSeconds = 0.0
    /// Seconds spent per phase, for the summary.
    var spent: [String: Double] = [:]
    var exportCount = 0
    var failedListings = 0

    init(settings: Settings) throws {
        self.settings = settings
        random = SeededRandom(seed: settings.seed)
        // The model is of what each command leaves; no collector may change it after.
        cli = try CLIHarness(environment: ["SM_AUTO_GC": "0"])
        guard let binary = CLIHarness.binary else { throw KillLoopError("sm is not built next to the tests") }
        sm = SpawnedCommand(executable: binary, extra: cli.environment, outputPrefix: cli.path("sm"))
        let vhdUtil = URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("vhd-util").path
        sr = try cli.createSR()
        srDirectory = cli.srParent + "/" + sr
        srLock = try LockDirectory(base: cli.environment["SM_LOCK_DIR"] ?? "").srLock(srUUID: sr)
        audit = SRAudit(
            directory: srDirectory,
            vhdUtil: SpawnedCommand(executable: vhdUtil, extra: [:], outputPrefix: cli.path("vhd-util")))
    }

    // MARK: The loop

    func run() throws -> KillLoopSummary {
        let started = ContinuousClock.now
        try timed("set-up") { try setUp() }
        var iteration = 0
        while iteration < settings.iterations, (ContinuousClock.now - started) / .seconds(1) < settings.seconds,
            failedListings == 0
        {
            iteration += 1
            try runIteration(iteration)
        }
        context = (iteration, "final", "check of every VDI")
        if let listing = list() {
            auditDirectory(listing)
            reconcile(.none, outcome: nil, listing: listing, exportAll: true)
        }
        return summary(iterations: iteration, seconds: (ContinuousClock.now - started) / .seconds(1))
    }

    func runIteration(_ iteration: Int) throws {
        context = (iteration, "write", "between operations")
        if random.next() % 10 < 4 { timed("consumer writes") { consumerWrite() } }
        if model.count >= 9 { timed("unkilled destroys") { destroyUnkilled(pick(model.keys.sorted())) } }
        let operation = chooseOperation(iteration)
        let kind = Self.kind(of: operation)
        let effect = effect(of: operation)
        let delay = killDelay(kind)
        let outcome = try timed("killed operations") { () throws -> SpawnedProcess.Outcome in
            let process = try sm.start(arguments(of: operation))
            guard let delay else { return process.wait(timeout: .seconds(120)).outcome }
            return process.kill(after: .microseconds(Int64(delay * 1e6)))
        }
        if !outcome.wasKilled, outcome.exitCode != nil { durations[kind, default: []].append(outcome.elapsed) }
        runs[kind, default: (0, 0)].total += 1
        if outcome.wasKilled { runs[kind, default: (0, 0)].killed += 1 }
        if delay == nil { unkilled.measuring += 1 } else if !outcome.wasKilled { unkilled.endedFirst += 1 }
        context = (iteration, kind, timing(outcome, delay: delay, kind: kind))
        if iteration % settings.scanEvery == 0 {
            context.timing += ", then sr-scan"
            timed("sr-scan") { scan() }
        }
        // A failed listing is reported; two more tries, then the loop ends (the SR is unusable).
        guard let listing = timed("vdi-list", { list() ?? list() ?? list() }) else {
            fail("sr-unusable", "vdi-list failed three times in a row; the loop stops")
            return
        }
        timed("audit") { auditDirectory(listing) }
        timed("exports") {
            reconcile(effect, outcome: outcome, listing: listing, exportAll: iteration % settings.fullExportEvery == 0)
        }
    }

    func timed<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer { spent[phase, default: 0] += (ContinuousClock.now - start) / .seconds(1) }
        return try body()
    }

    /// A kill instant for `kind`, uniform between about the process's start-up and the
    /// operation's typical (median) duration; nil (no kill) until two unkilled runs measured it.
    func killDelay(_ kind: String) -> Double? {
        guard let typical = typicalDuration(kind) else { return nil }
        let low = min(startupSeconds * 0.8, typical * 0.5)
        return Double.random(in: low...max(low, typical), using: &random)
    }

    func typicalDuration(_ kind: String) -> Double? {
        guard let samples = durations[kind], samples.count >= 2 else { return nil }
        let recent = samples.suffix(15).sorted()
        return recent[recent.count / 2]
    }

    func timing(_ outcome: SpawnedProcess.Outcome, delay: Double?, kind: String) -> String {
        let typical = typicalDuration(kind).map { Self.milliseconds($0) } ?? "?"
        guard let delay else { return "unkilled (measuring), took \(Self.milliseconds(outcome.elapsed))" }
        if outcome.wasKilled { return "killed at \(Self.milliseconds(delay)) (typical \(typical))" }
        return "ended by itself (status \(outcome.status)) after \(Self.milliseconds(outcome.elapsed)), "
            + "before its kill at \(Self.milliseconds(delay))"
    }

    static func milliseconds(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }

    /// Records a failure of the current iteration, or of the earlier one `origin` names.
    func fail(_ invariant: String, _ detail: String, origin: Context? = nil) {
        let context = origin ?? self.context
        findings.append(
            KillLoopFinding(
                iteration: context.iteration, operation: context.operation, timing: context.timing,
                invariant: invariant, detail: detail))
    }

    func quarantine(_ uuid: String) {
        quarantined.insert(uuid)
        model[uuid] = nil
        verified[uuid] = nil
    }

    // MARK: Set-up

    /// Fixtures (three raw files with holes, zero runs and odd sizes; three VHDs exported by
    /// `sm`), the start-up time of `sm`, and three VDIs to begin with.
    func setUp() throws {
        for (index, size) in [5 * Self.mebibyte + 12_345, 6 * Self.mebibyte, 7 * Self.mebibyte + 1536].enumerated() {
            fixtures.append(try rawFixture(cli.path("fixture-\(index).raw"), size: size))
        }
        for index in 0..<3 {
            let raw = try rawFixture(cli.path("source-\(index).raw"), size: (4 + index) * Self.mebibyte + 4096)
            let vdi = try cli.ok("vdi-import", "sr-uuid=\(sr)", "filename=\(raw.path)", "name-label=source")
            let path = cli.path("fixture-\(index).vhd")
            try cli.ok("vdi-export", "uuid=\(vdi)", "filename=\(path)", "format=vhd")
            try cli.ok("vdi-destroy", "uuid=\(vdi)")
            fixtures.append(Fixture(path: path, format: "vhd", content: raw.content))
        }
        var startups: [Double] = []
        for _ in 0..<5 { startups.append(try sm.run(["sr-list"]).elapsed) }
        startupSeconds = startups.sorted()[2]
        for index in 0..<3 {
            let uuid = try cli.ok(
                "vdi-import", "sr-uuid=\(sr)", "filename=\(fixtures[index].path)", "name-label=initial-\(index)")
            model[uuid] = fixtures[index].content
        }
        guard let listing = list() else { throw KillLoopError("the first listing failed: \(findings)") }
        auditDirectory(listing)
        reconcile(.none, outcome: nil, listing: listing, exportAll: true)
    }

    /// A raw file of `size` bytes made of runs of seeded data, written zeros and holes; its
    /// content as a VDI imported from it holds it (padded to whole 2 MiB).
    func rawFixture(_ path: String, size: Int) throws -> Fixture {
        var content = [UInt8](repeating: 0, count: Self.vdiSize(size))
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw KillLoopError("cannot create \(path): errno \(errno)") }
        defer { close(descriptor) }
        var offset = 0
        while offset < size {
            let length = min(
                size - offset, Int.random(in: 16...256, using: &random) * 4096 + Int(random.next() % 3) * 512)
            let run = random.next() % 3
            if run != 2 {
                let bytes =
                    run == 0
                    ? SeededRandom.pattern(seed: random.next(), count: length) : [UInt8](repeating: 0, count: length)
                content.replaceSubrange(offset..<offset + length, with: bytes)
                let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, length, off_t(offset)) }
                guard written == length else { throw KillLoopError("short write to \(path)") }
            }
            offset += length
        }
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw KillLoopError("cannot size \(path)") }
        return Fixture(path: path, format: "raw", content: content)
    }

    /// The virtual size `sm` gives a VDI of `size` bytes: whole 2 MiB, at least 2 MiB.
    static func vdiSize(_ size: Int) -> Int {
        max(2 * mebibyte, (size + 2 * mebibyte - 1) / (2 * mebibyte) * (2 * mebibyte))
    }

    // MARK: Operations

    func chooseOperation(_ iteration: Int) -> Operation {
        let healthy = model.keys.sorted()
        let name = "it-\(iteration)"
        let shallow = healthy.filter { depth($0) <= 6 }
        let small = healthy.filter { (model[$0]?.count ?? 0) <= 12 * Self.mebibyte }
        let reverts = healthy.compactMap { uuid -> (String, String)? in
            guard let record = records[uuid], record.isASnapshot, model[record.snapshotOf] != nil else { return nil }
            return (record.snapshotOf, uuid)
        }
        switch weightedKind(
            healthy: healthy.count, shallow: !shallow.isEmpty, reverts: !reverts.isEmpty, small: !small.isEmpty)
        {
        case "import-raw": return .importFile(pick(fixtures.filter { $0.format == "raw" }), name: name)
        case "import-vhd": return .importFile(pick(fixtures.filter { $0.format == "vhd" }), name: name)
        case "snapshot": return .snapshot(of: pick(shallow), name: name)
        case "clone": return .clone(of: pick(shallow), name: name)
        case "revert":
            let (vdi, snapshot) = pick(reverts)
            return .revert(vdi, to: snapshot)
        case "resize":
            let vdi = pick(small)
            return .resize(
                vdi, to: (model[vdi]?.count ?? 0) + Int.random(in: 1...2, using: &random) * 2 * Self.mebibyte)
        case "destroy": return .destroy(pick(healthy))
        default: return .create(name: name, size: Int.random(in: 1...3, using: &random) * 2 * Self.mebibyte)
        }
    }

    /// Every kind alike, but for the VDI count: under 3 only operations that add one, and from
    /// 6 destroys likelier as VDIs accumulate (a killed destroy mostly did not happen, a killed
    /// add often did; `destroyUnkilled` keeps the count under 10). Kinds without a possible
    /// target drop out.
    func weightedKind(healthy: Int, shallow: Bool, reverts: Bool, small: Bool) -> String {
        let adders = ["create", "import-raw", "import-vhd"] + (shallow ? ["snapshot", "clone"] : [])
        if healthy < 3 { return pick(adders) }
        var weighted: [String] = adders + adders
        if reverts { weighted += ["revert", "revert"] }
        if small { weighted += ["resize", "resize"] }
        weighted += [String](repeating: "destroy", count: 2 + 2 * max(0, healthy - 5))
        return pick(weighted)
    }

    /// Destroys a VDI without a kill, to keep exports few: it must succeed, and the next listing
    /// must not show the VDI (else it shows as an unexpected VDI).
    func destroyUnkilled(_ uuid: String) {
        context = (context.iteration, "destroy-unkilled", "(keeping the SR under 10 VDIs)")
        guard let outcome = try? sm.run(["vdi-destroy", "uuid=\(uuid)"]), outcome.succeeded else {
            fail("op-failed", "vdi-destroy uuid=\(uuid) failed unkilled")
            quarantine(uuid)
            return
        }
        model[uuid] = nil
        verified[uuid] = nil
    }

    func pick<T>(_ choices: [T]) -> T { choices[Int(random.next() % UInt64(choices.count))] }

    /// The VHD chain depth of `uuid` as the last listing links it.
    func depth(_ uuid: String) -> Int {
        var depth = 1
        var current = records[uuid]?.parent ?? ""
        while !current.isEmpty, depth < 64 {
            depth += 1
            current = records[current]?.parent ?? ""
        }
        return depth
    }

    static func kind(of operation: Operation) -> String {
        switch operation {
        case .create: return "create"
        case .importFile(let fixture, _): return "import-" + fixture.format
        case .snapshot: return "snapshot"
        case .clone: return "clone"
        case .revert: return "revert"
        case .resize: return "resize"
        case .destroy: return "destroy"
        }
    }

    func arguments(of operation: Operation) -> [String] {
        switch operation {
        case .create(let name, let size):
            return ["vdi-create", "sr-uuid=\(sr)", "virtual-size=\(size)", "name-label=\(name)"]
        case .importFile(let fixture, let name):
            return [
                "vdi-import", "sr-uuid=\(sr)", "filename=\(fixture.path)", "format=\(fixture.format)",
                "name-label=\(name)",
            ]
        case .snapshot(let vdi, let name): return ["vdi-snapshot", "uuid=\(vdi)", "name-label=\(name)"]
        case .clone(let vdi, let name): return ["vdi-clone", "uuid=\(vdi)", "new-name-label=\(name)"]
        case .revert(let vdi, let snapshot): return ["vdi-revert", "uuid=\(vdi)", "snapshot-uuid=\(snapshot)"]
        case .resize(let vdi, let size): return ["vdi-resize", "uuid=\(vdi)", "disk-size=\(size)"]
        case .destroy(let vdi): return ["vdi-destroy", "uuid=\(vdi)"]
        }
    }

    func effect(of operation: Operation) -> Effect {
        switch operation {
        case .create(let name, let size):
            return .adds(content: [UInt8](repeating: 0, count: Self.vdiSize(size)), name: name, snapshotOf: nil)
        case .importFile(let fixture, let name): return .adds(content: fixture.content, name: name, snapshotOf: nil)
        case .snapshot(let vdi, let name): return .adds(content: model[vdi] ?? [], name: name, snapshotOf: vdi)
        case .clone(let vdi, let name): return .adds(content: model[vdi] ?? [], name: name, snapshotOf: nil)
        case .revert(let vdi, let snapshot): return .changes(vdi, to: model[snapshot] ?? [])
        case .resize(let vdi, let size):
            let old = model[vdi] ?? []
            return .changes(vdi, to: old + [UInt8](repeating: 0, count: max(0, size - old.count)))
        case .destroy(let vdi): return .removes(vdi)
        }
    }

    /// Writes a seeded run of bytes into a VDI's leaf as its consumer would (the SR lock held,
    /// so no `sm` runs meanwhile), so snapshots, clones and reverts have content to get wrong.
    func consumerWrite() {
        guard let uuid = model.keys.sorted().randomElement(using: &random), var content = model[uuid] else { return }
        let length = min(content.count, Int.random(in: 1...512, using: &random) * 512 - Int(random.next() % 2) * 100)
        let offset = Int.random(in: 0...(content.count - length), using: &random)
        let bytes = SeededRandom.pattern(seed: random.next(), count: length)
        do {
            try srLock.acquire(.exclusive, timeout: .seconds(120))
            defer { try? srLock.release() }
            let path = srDirectory + "/\(uuid).vhd"
            let leaf = try Image.open(store: try FileBlockStore(path: path), name: path, options: .readWrite)
            let chain = try Chain.open(leaf: leaf, resolver: FileParentResolver(confinement: srDirectory))
            try bytes.withUnsafeBytes { try chain.write($0, at: UInt64(offset)) }
            try leaf.flush()
        } catch {
            fail("consumer-write", "writing \(length) bytes at \(offset) into \(uuid): \(error)")
            quarantine(uuid)
            return
        }
        content.replaceSubrange(offset..<offset + length, with: bytes)
        model[uuid] = content
    }

    // MARK: The next commands and their checks

    /// `sm vdi-list --json`, the command after the kill (it loads the SR and runs recovery).
    func list() -> [VDIJSON]? {
        let outcome: SpawnedProcess.Outcome
        do { outcome = try sm.run(["vdi-list", "sr-uuid=\(sr)", "--json"]) } catch {
            fail("next-command-failed", "vdi-list could not be started: \(error)")
            return nil
        }
        guard outcome.succeeded,
            let listings = try? JSONDecoder().decode([VDIListingJSON].self, from: Data(outcome.output.utf8)),
            let listing = listings.first(where: { $0.sr == sr })
        else {
            failedListings += 1
            fail("next-command-failed", outcome.description)
            return nil
        }
        failedListings = 0
        records = Dictionary(listing.vdis.map { ($0.uuid, $0) }) { first, _ in first }
        return listing.vdis
    }

    /// `sm sr-scan`: after the load's recovery the records match the volumes, so it must
    /// introduce nothing (a half-written volume least of all).
    func scan() {
        guard let outcome = try? sm.run(["sr-scan", "uuid=\(sr)", "--json"]), outcome.succeeded,
            let report = try? JSONDecoder().decode(ScanReportJSON.self, from: Data(outcome.output.utf8))
        else {
            fail("scan-failed", "sr-scan failed")
            return
        }
        for uuid in report.introduced {
            let path = srDirectory + "/\(uuid).vhd"
            let size = FileIdentity(path: path).map { "\($0.size) bytes" } ?? "no .vhd"
            let whole = (try? audit.vhdUtil.run(["check", "-n", path]))?.succeeded == true
            let origin = knownLeftovers["\(uuid).vhd"]
            fail(
                whole ? "scan-introduced uncommitted volume" : "scan-introduced half-written volume",
                "sr-scan (of #\(context.iteration)) made \(uuid) a VDI (\(size), \(whole ? "passes" : "fails") vhd-util check)",
                origin: origin)
            quarantine(uuid)
        }
        // Without a GC, a base copy whose children are all destroyed stays; the scan drops its
        // record (hidden leaves are the GC's) but leaves the volume.
        for uuid in report.forgotten where records[uuid]?.hidden == true {
            let volume = "\(uuid).vhd"
            guard FileIdentity(path: srDirectory + "/" + volume) != nil else { continue }
            let scanContext: Context = (
                context.iteration, "sr-scan", "after " + context.operation + " " + context.timing
            )
            knownLeftovers[volume] = scanContext
            fail(
                "leftover: base copy whose record sr-scan dropped",
                "sr-scan forgot childless base copy \(uuid) and left \(volume)", origin: scanContext)
        }
    }

    /// The directory audit (`SRAudit`) under the SR lock; VDIs with problems are quarantined.
    func auditDirectory(_ listing: [VDIJSON]) {
        let skipped = quarantined
        let report: SRAudit.Report
        do {
            try srLock.acquire(.exclusive, timeout: .seconds(120))
            defer { try? srLock.release() }
            report = audit.audit(
                records: listing, skipped: { skipped.contains($0) }, knownLeftovers: Set(knownLeftovers.keys))
        } catch {
            fail("sr-lock", "the SR lock could not be taken for the audit: \(error)")
            return
        }
        chains = report.chains
        for problem in report.problems {
            if records[problem.subject] != nil {
                let role =
                    model[problem.subject] != nil
                    ? "VDI" : records[problem.subject]?.hidden == true ? "base copy" : "new VDI"
                fail(problem.invariant, "\(role) \(problem.subject): \(problem.detail)")
                quarantine(problem.subject)
            } else {
                fail(problem.invariant, problem.detail)
                knownLeftovers[problem.subject] = context
            }
        }
    }

    /// Checks the listing against the model and the operation's effect, which may have
    /// happened or not, then adopts what was seen. `outcome` nil: no operation ran.
    func reconcile(_ effect: Effect, outcome: SpawnedProcess.Outcome?, listing: [VDIJSON], exportAll: Bool) {
        let visible = listing.filter { !$0.hidden }
        let listed = Set(visible.map(\.uuid))
        var happened: Bool?
        for uuid in model.keys.sorted() {
            guard let expected = model[uuid] else { continue }
            guard listed.contains(uuid) else {
                if case .removes(uuid) = effect {
                    happened = true
                } else {
                    fail("vdi-lost", "\(uuid) is no longer listed")
                }
                model[uuid] = nil
                continue
            }
            var allowed = [expected]
            if case .changes(uuid, let after) = effect { allowed.append(after) }
            if case .removes(uuid) = effect { happened = false }
            guard let observed = observe(uuid, exportAll: exportAll) else { continue }
            if allowed.count > 1, Self.same(allowed[0], allowed[1]) {
                if !Self.same(observed, allowed[0]) {
                    fail("content", "\(uuid) " + Self.difference(observed, allowed))
                    quarantine(uuid)
                }
            } else if Self.same(observed, allowed[0]) {
                if allowed.count > 1 { happened = false }
            } else if allowed.count > 1, Self.same(observed, allowed[1]) {
                happened = true
                model[uuid] = observed
            } else {
                fail("content", "\(uuid) " + Self.difference(observed, allowed))
                quarantine(uuid)
            }
        }
        let added = adopt(visible.filter { model[$0.uuid] == nil && !quarantined.contains($0.uuid) }, effect, outcome)
        if case .adds = effect { happened = happened ?? added }
        guard let outcome else { return }
        if outcome.succeeded, happened == false { fail("completed-op-not-applied", outcome.description) }
        if !outcome.succeeded, !outcome.wasKilled {
            fail("op-failed", outcome.description)
            if happened == true { fail("failed-op-applied", "the failed operation's effect is visible") }
        }
    }

    /// Listed visible VDIs the model does not know: at most one, the operation's new VDI with
    /// its bytes, name and snapshot fields (the uuid it printed, when it finished). Returns
    /// whether it is there; nil when it could not be told.
    func adopt(_ fresh: [VDIJSON], _ effect: Effect, _ outcome: SpawnedProcess.Outcome?) -> Bool? {
        var claimed: Bool? = false
        for record in fresh.sorted(by: { $0.uuid < $1.uuid }) {
            guard case .adds(let content, let name, let snapshotOf) = effect, claimed == false,
                outcome?.succeeded != true || record.uuid == outcome?.trimmedOutput
            else {
                fail(
                    "unexpected-vdi",
                    "\(record.uuid) '\(record.nameLabel)' (\(record.virtualSize) bytes) is listed; no operation made it"
                )
                quarantine(record.uuid)
                continue
            }
            guard let observed = observe(record.uuid, exportAll: true) else {
                claimed = nil
                continue
            }
            guard Self.same(observed, content) else {
                fail("content", "new VDI \(record.uuid) '\(record.nameLabel)' " + Self.difference(observed, [content]))
                quarantine(record.uuid)
                claimed = nil
                continue
            }
            claimed = true
            model[record.uuid] = observed
            if record.nameLabel != name {
                fail("name", "new VDI \(record.uuid) is named '\(record.nameLabel)', not '\(name)'")
            }
            if record.isASnapshot != (snapshotOf != nil) || record.snapshotOf != (snapshotOf ?? "") {
                fail(
                    "snapshot-fields",
                    "new VDI \(record.uuid): is-a-snapshot \(record.isASnapshot), snapshot-of '\(record.snapshotOf)'")
            }
        }
        return claimed
    }

    /// The VDI's bytes: exported with `sm vdi-export format=raw`, or, when every file of its
    /// chain is the version whose export last matched, those bytes (an export is a function
    /// of its chain's files). nil when the export failed (reported, and the VDI quarantined).
    func observe(_ uuid: String, exportAll: Bool) -> [UInt8]? {
        if !exportAll, let last = verified[uuid], let chain = chains[uuid], last.chain == chain { return last.content }
        let path = cli.path("export.raw")
        defer { unlink(path) }
        exportCount += 1
        let outcome = try? sm.run(["vdi-export", "uuid=\(uuid)", "filename=\(path)", "format=raw"])
        guard let outcome, outcome.succeeded, let bytes = Self.contents(path) else {
            fail("export-failed", "\(uuid): " + (outcome.map { "\($0)" } ?? "vdi-export could not be started"))
            quarantine(uuid)
            return nil
        }
        if let chain = chains[uuid] { verified[uuid] = (chain, bytes) }
        return bytes
    }

    /// Whether two byte strings are equal (`memcmp`: `==` on arrays is slow in an unoptimised test build).
    static func same(_ first: [UInt8], _ second: [UInt8]) -> Bool {
        first.count == second.count && memcmp(first, second, first.count) == 0
    }

    /// What the export shows against what the model allows, by 512-byte sector.
    static func difference(_ observed: [UInt8], _ allowed: [[UInt8]]) -> String {
        let expected = allowed.map { "\($0.count)" }.joined(separator: " or ")
        guard let closest = allowed.first(where: { $0.count == observed.count }) else {
            return "exports \(observed.count) bytes; the model allows \(expected)"
        }
        let zeros = [UInt8](repeating: 0, count: 512)
        var differing: [Int] = []
        var zeroSectors = 0
        observed.withUnsafeBytes { seen in
            closest.withUnsafeBytes { wanted in
                for sector in 0..<(observed.count + 511) / 512 {
                    let offset = sector * 512
                    let length = min(512, observed.count - offset)
                    if memcmp(seen.baseAddress! + offset, wanted.baseAddress! + offset, length) != 0 {
                        differing.append(sector)
                    }
                    if memcmp(seen.baseAddress! + offset, zeros, length) == 0 { zeroSectors += 1 }
                }
            }
        }
        let sectors = (observed.count + 511) / 512
        return
            "exports \(observed.count) bytes (\(zeroSectors) of \(sectors) sectors zero) with \(differing.count) sectors "
            + "differing from the model's, the first at sector \(differing.first ?? 0) (offset \((differing.first ?? 0) * 512))"
    }

    /// The bytes of the file at `path`; nil when it cannot be read.
    /// The corresponding C functions are `open`, `fstat` and `read`.
    static func contents(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        let size = Int(info.st_size)
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            while count < size {
                let read = Glibc.read(descriptor, buffer.baseAddress! + count, size - count)
                if read > 0 {
                    count += read
                } else if read == 0 || errno != EINTR {
                    failed = true
                    break
                }
            }
        }
        return failed ? nil : bytes
    }

    // MARK: Summary

    func summary(iterations: Int, seconds: Double) -> KillLoopSummary {
        let killed = runs.values.reduce(0) { $0 + $1.killed }
        var lines = [
            String(
                format: "kill loop: seed 0x%016llx (KILLLOOP_SEED replays the choices), %d iterations in %.1f s: "
                    + "%d killed mid-run, %d ended before their kill, %d unkilled measuring runs",
                settings.seed, iterations, seconds, killed, unkilled.endedFirst, unkilled.measuring),
            "kill loop: sm start-up \(Self.milliseconds(startupSeconds)); per operation (runs, killed, typical unkilled duration):",
        ]
        for kind in Self.kinds {
            let run = runs[kind] ?? (0, 0)
            lines.append(
                "  \(kind): \(run.total) runs, \(run.killed) killed, typical \(typicalDuration(kind).map { Self.milliseconds($0) } ?? "?")"
            )
        }
        lines.append(
            "kill loop: \(exportCount) exports; seconds spent: "
                + spent.sorted { $0.value > $1.value }.map { "\($0.key) " + String(format: "%.1f", $0.value) }.joined(
                    separator: ", "))
        var groups: [String: [KillLoopFinding]] = [:]
        for finding in findings { groups[finding.operation + " / " + finding.invariant, default: []].append(finding) }
        lines.append("kill loop: \(findings.count) failures in \(Set(findings.map(\.iteration)).count) iterations")
        for (key, group) in groups.sorted(by: { ($0.value.count, $1.key) > ($1.value.count, $0.key) }) {
            lines.append("  \(group.count) × \(key), e.g. \(group[0].line.prefix(400))")
        }
        if !findings.isEmpty { lines.append("kill loop: the first failures:") }
        lines += findings.prefix(60).map { "  " + $0.line.prefix(600) }
        return KillLoopSummary(iterations: iterations, failures: findings, text: lines.joined(separator: "\n"))
    }
}

/// `sm sr-scan --json`.
struct ScanReportJSON: Decodable {
    var introduced: [String]
    var forgotten: [String]
    var updated: [String]
}

struct KillLoopError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
