import ArgumentParser
import SM

/// `sm sr-gc`: runs an SR's garbage collector in the foreground, shows its state, or stops it.
struct SRGCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sr-gc", abstract: "Collect an SR's garbage and coalesce its chains.",
        discussion: """
            Parameters: uuid= (or sr=, a uuid or name-label; optional when one SR is attached). \
            Deletes hidden VDIs nothing reads through, coalesces hidden VDIs into their parents \
            and leaves into theirs, tallest chains first; progress on stderr, a summary on \
            stdout. The SR's other-config gc=false, coalesce=false and leaf-coalesce=false are \
            honoured. Runs after vdi-destroy, sr-scan, snapshots and clones on its own.
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @Flag(help: "Show whether a collector runs and what the SR owes it, without collecting.") var status = false
    @Flag(help: "Stop the collector running on the SR (within 5 s, nothing left half-done).") var abort = false
    @OptionGroup var output: OutputOptions

    struct Status: Encodable {
        var sr: String
        var running: Bool
        var debt: CoalesceDebt
    }

    struct Report: Encodable {
        var sr: String
        /// False when another collector was running and was asked to look again instead.
        var ran: Bool
        var summary: CollectorSummary?
    }

    func validate() throws {
        if status && abort { throw ValidationError("give --status or --abort, not both") }
    }

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "sr"])
        let context = CLIContext()
        let entry = try context.registry.find(given["uuid"] ?? given["sr"])
        guard entry.attached else { throw CLIError("SR \(entry.uuid) is detached: sr-attach uuid=\(entry.uuid) first") }
        let host = try context.host(type: entry.type)
        if abort {
            let wasRunning = host.isCollectorRunning(srUUID: entry.uuid)
            try host.abortCollector(srUUID: entry.uuid)
            if output.json { return try Output.json(["sr": entry.uuid, "stopped": wasRunning ? "true" : "false"]) }
            return print(wasRunning ? "stopped the collector of SR \(entry.uuid)" : "no collector runs on SR \(entry.uuid)")
        }
        if status { return try showStatus(context, entry, host) }
        let reporter = CollectorProgressReporter()
        let summary = try host.collect(srUUID: entry.uuid, deviceConfig: entry.deviceConfig) { reporter.update($0) }
        reporter.finish()
        if output.json { return try Output.json(Report(sr: entry.uuid, ran: summary != nil, summary: summary)) }
        guard let summary else {
            return print("a collector is running on SR \(entry.uuid); it will look again before it exits")
        }
        print(Self.text(summary, sr: entry.uuid), terminator: "")
    }

    private func showStatus(_ context: CLIContext, _ entry: SRRegistry.Entry, _ host: SRHost) throws {
        let debt = try context.withEngine(entry) { _, engine in CoalesceDebt(engine: engine) }
        let running = host.isCollectorRunning(srUUID: entry.uuid)
        if output.json { return try Output.json(Status(sr: entry.uuid, running: running, debt: debt)) }
        print("""
            SR \(entry.uuid): collector \(running ? "running" : "not running")
            garbage: \(debt.garbageVDIs) VDIs, \(ByteSize.format(debt.garbageBytes))
            coalescable: \(debt.coalescableNodes)
            deepest chain: \(debt.deepestChain)
            """)
        for refusal in debt.refusedTrees { print("skipped: \(refusal)") }
    }

    static func text(_ summary: CollectorSummary, sr: String) -> String {
        if summary.disabled { return "SR \(sr): the collector is off (other-config gc=false)\n" }
        var lines = [
            "SR \(sr)\(summary.aborted ? ": aborted" : "")",
            "garbage deleted: \(summary.garbageDeleted)",
            "nodes coalesced: \(summary.nodesCoalesced)",
            "leaves coalesced: \(summary.leavesCoalesced)",
            "bytes reclaimed: \(summary.bytesReclaimed) (\(ByteSize.format(summary.bytesReclaimed)))",
            "seconds: \(Self.decimal(summary.seconds, places: 2))",
        ]
        lines += summary.pauses.map { "paused \($0.vdi): \(Self.decimal($0.milliseconds, places: 1)) ms" }
        lines += summary.skipped.map { "skipped: \($0)" }
        lines += summary.failures.map { "failed: \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `value` with `places` decimals.
    static func decimal(_ value: Double, places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        let whole = String(scaled / Int(scale))
        let fraction = String(scaled % Int(scale))
        return whole + "." + String(repeating: "0", count: places - fraction.count) + fraction
    }
}

/// The collector's progress on standard error: one reporter per step and VDI.
final class CollectorProgressReporter: @unchecked Sendable {
    private var current: (key: String, reporter: ProgressReporter)?

    func update(_ progress: CollectorProgress) {
        let key = "\(progress.step.rawValue) \(progress.vdi)"
        guard let fraction = progress.fraction else { return Output.note("gc: \(key)") }
        if current?.key != key {
            let label = "gc: \(key)" + (progress.parent.map { " into \($0)" } ?? "")
            current = (key, ProgressReporter(label: label))
        }
        current?.reporter.update(fraction)
    }

    func finish() { current = nil }
}
