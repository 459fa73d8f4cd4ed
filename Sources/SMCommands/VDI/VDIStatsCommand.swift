import ArgumentParser
import Datapath
import DatapathBackend
import SM

/// `sm vdi-stats`: the I/O counters of an active VDI, from its datapath daemon.
struct VDIStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vdi-stats", abstract: "Show an active VDI's I/O counters and latencies.",
        discussion: """
            Parameters: uuid=. Requests, bytes and errors since the VDI was activated, and read \
            and write latency percentiles in microseconds (time in the datapath, not time held \
            by a pause).
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid"])
        let uuid = try given.require("uuid")
        guard Identifier.isUUID(uuid) else { throw SRError(.vdiMissing, opterr: "'\(uuid.prefix(64))' is not a VDI uuid") }
        let context = CLIContext()
        let backend = NBDBlockBackend(paths: context.paths)
        let statistics = try backend.statistics(vdiUUID: uuid)
        if output.json {
            try Output.json(statistics)
            return
        }
        func latency(_ value: ExportStatistics.Latency) -> [String] {
            [String(value.p50), String(value.p90), String(value.p99), String(value.max)]
        }
        let none = ["-", "-", "-", "-"]
        Output.table(
            ["operation", "requests", "bytes", "p50-us", "p90-us", "p99-us", "max-us"],
            [
                ["read", String(statistics.reads), String(statistics.bytesRead)] + latency(statistics.readLatency),
                ["write", String(statistics.writes), String(statistics.bytesWritten)] + latency(statistics.writeLatency),
                ["flush", String(statistics.flushes), "-"] + none,
                ["trim", String(statistics.trims), "-"] + none,
                ["write-zeroes", String(statistics.writeZeroes), "-"] + none,
                ["block-status", String(statistics.blockStatus), "-"] + none,
            ])
        print("errors: \(statistics.errors)")
    }
}
