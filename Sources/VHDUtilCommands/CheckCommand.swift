import VHD

/// `vhd-util check -n NAME [-i] [-I] [-t] [-p] [-b] [-B] [-s]`: blktap's structural check, with
/// its messages, its metadata dump after a failure, and its statistics.
struct CheckCommand: Subcommand {
    static let name = "check"
    static let optionString = "n:iItpbBsh"
    static let usage = Usage.check
    static let supportsJSON = true

    var path: String?
    var parents = false
    var options = Check.Options()

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var check = CheckCommand()
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("n", let value): check.path = value
            case .option("i", _): check.options.ignoreFooter = true
            case .option("I", _): check.options.ignoreParentUUID = true
            case .option("t", _): check.options.ignoreTimestamps = true
            case .option("p", _): check.parents = true
            case .option("b", _): check.options.checkData = true
            case .option("B", _): check.options.skipOverlapCheck = true
            case .option("s", _): check.options.collectStatistics = true
            case .option("h", _): return usage(console, status: 0)
            default: return usage(console, status: Errno.invalid)
            }
        }
        guard let path = check.path, getopt.operands.isEmpty else { return usage(console, status: Errno.invalid) }
        if check.options.skipOverlapCheck && (check.options.collectStatistics || check.options.checkData) {
            return usage(console, status: Errno.invalid)
        }
        let outcome = check.run(path)
        if console.json {
            console.print(outcome.json.rendered)
        } else {
            outcome.print(console)
        }
        return outcome.status
    }

    /// Everything one `check` run found, in the order blktap prints it.
    struct Outcome {
        /// The leaf's report, then each ancestor's (with `-p`).
        var reports: [Check.Report] = []
        /// Why the walk up the chain stopped early, with the line blktap prints (if any).
        var parentFailure: Check.ParentStepFailure?
        /// Set when the walk up the chain failed (`error checking parents: %d`).
        var parentsErrno: Int32?
        var statistics: [Check.StatisticsSummary]?
        var status: Int32
        /// `-s` replaces every `is valid` line with the statistics.
        var quiet = false

        func print(_ console: Console) {
            for report in reports { Self.print(report, quiet: quiet, console) }
            if let message = parentFailure?.message { console.print(message) }
            if let parentsErrno { console.print("error checking parents: -\(parentsErrno)") }
            for line in statistics ?? [] { console.print(Self.statisticsLine(line)) }
        }

        static func print(_ report: Check.Report, quiet: Bool, _ console: Console) {
            for problem in report.problems { console.print(problem) }
            if report.isValid && report.isSparse && !quiet { console.print("\(report.path) is valid") }
            if report.dumpsMetadata {
                console.print("\(report.path) appears invalid; dumping metadata")
                var read = ReadCommand()
                read.headers = true
                _ = read.run(path: report.path, Console(out: console.out, err: console.err, debug: console.debug))
            }
        }

        static func statisticsLine(_ line: Check.StatisticsSummary) -> String {
            var text =
                "\(line.name): secs allocated: 0x\(String(line.allocatedSectors, radix: 16))"
                + " secs written: 0x\(String(line.writtenSectors, radix: 16)) (\(percent(line.writtenPercent))%)"
            if let notInParent = line.notInParent, let notInAncestors = line.notInAncestors {
                text +=
                    " secs not in parent: 0x\(String(notInParent, radix: 16)) (\(percent(line.notInParentPercent))%)"
                text +=
                    " secs not in ancestors: 0x\(String(notInAncestors, radix: 16)) (\(percent(line.notInAncestorsPercent))%)"
            }
            return text
        }

        static func percent(_ value: Float) -> String { CFormat.format("%.2f", Double(value)) }

        var json: JSON {
            var members: [(String, JSON)] = [
                ("valid", .bool(status == 0)),
                ("errno", .integer(Int64(status))),
                (
                    "images",
                    .array(
                        reports.map { report in
                            .object([
                                ("path", .string(report.path)),
                                ("valid", .bool(report.isValid)),
                                ("errno", .integer(Int64(report.errno))),
                                ("problems", .array(report.problems.map(JSON.string))),
                            ])
                        })
                ),
            ]
            if let parentsErrno {
                members.append(
                    (
                        "parents_error",
                        .object([
                            ("errno", .integer(Int64(parentsErrno))), ("message", .optional(parentFailure?.message)),
                        ])
                    ))
            }
            if let statistics {
                members.append(
                    (
                        "statistics",
                        .array(
                            statistics.map { line in
                                var fields: [(String, JSON)] = [
                                    ("name", .string(line.name)),
                                    ("sectors_allocated", .unsigned(line.allocatedSectors)),
                                    ("sectors_written", .unsigned(line.writtenSectors)),
                                ]
                                if let notInParent = line.notInParent {
                                    fields.append(("sectors_not_in_parent", .unsigned(notInParent)))
                                }
                                if let notInAncestors = line.notInAncestors {
                                    fields.append(("sectors_not_in_ancestors", .unsigned(notInAncestors)))
                                }
                                return .object(fields)
                            })
                    ))
            }
            return .object(members)
        }
    }

    /// Checks `path`, then (with `-p`) each ancestor, gathering the statistics.
    func run(_ path: String) -> Outcome {
        let leaf = Check.image(at: path, options: options)
        var outcome = Outcome(reports: [leaf], status: leaf.errno, quiet: options.collectStatistics)
        guard leaf.isValid else { return outcome }
        if parents {
            var current = path
            var visited: Set<String> = [FileParentResolver.canonicalPath(path) ?? path]
            walk: while true {
                switch Check.parent(of: current) {
                case .failure(let failure):
                    outcome.parentFailure = failure
                    outcome.status = failure.errno
                    break walk
                case .success(nil):
                    break walk
                case .success(let parent?) where !visited.insert(FileParentResolver.canonicalPath(parent) ?? parent).inserted:
                    outcome.parentFailure = Check.ParentStepFailure(message: "error getting parent: -40", errno: 40)
                    outcome.status = 40
                    break walk
                case .success(let parent?):
                    let report = Check.image(at: parent, options: options)
                    outcome.reports.append(report)
                    current = parent
                    if !report.isValid {
                        outcome.status = report.errno
                        break walk
                    }
                }
            }
            if outcome.status != 0 { outcome.parentsErrno = outcome.status }
        }
        if options.collectStatistics {
            outcome.statistics = Check.summarize(outcome.reports.compactMap(\.statistics))
        }
        return outcome
    }
}
