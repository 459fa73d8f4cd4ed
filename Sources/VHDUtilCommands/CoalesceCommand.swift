import BlockIO
import VHD

/// `vhd-util coalesce -n CHILD [-s] [-p]`: copies a differencing disk's sectors into its parent
/// and prints `Coalesced N sectors` (no newline, as blktap).
struct CoalesceCommand: Subcommand {
    static let name = "coalesce"
    static let optionString = "n:o:a:x:sph"
    static let usage = Usage.coalesce

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var path: String?
        var sparse = false
        var progress = false
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("n", let value): path = value
            case .option("s", _): sparse = true
            case .option("p", _): progress = true
            default: return usage(console, status: Errno.invalid)
            }
        }
        guard let path, getopt.operands.isEmpty else { return usage(console, status: Errno.invalid) }
        switch coalesce(path, sparse: sparse, progress: progress, console) {
        case .success(let sectors):
            console.out.write("Coalesced \(sectors) sectors")
            return 0
        case .failure(let failure):
            console.print("error coalescing: -\(failure.rawValue)")
            return failure.rawValue
        }
    }

    struct Failure: Error {
        let rawValue: Int32
    }

    static func coalesce(_ path: String, sparse: Bool, progress: Bool, _ console: Console) -> Result<UInt64, Failure> {
        let child: Image.Libvhd
        do { child = try Image.open(path: path, options: .libvhd(ignoreDisabled: false)).libvhd } catch {
            console.log(error)
            console.print("error opening \(path): -\(error.errno)")
            return .failure(Failure(rawValue: error.errno))
        }
        guard child.isDifferencing else {
            console.print("coalescing of non-differencing disks is not supported")
            return .failure(Failure(rawValue: Errno.invalid))
        }
        let parent: String
        do { parent = try child.parentPath() } catch {
            console.print("error finding \(path) parent: -\(error.errno)")
            return .failure(Failure(rawValue: error.errno))
        }
        if child.hasRawParent {
            do { _ = try FileBlockStore(path: parent, readOnly: false) } catch {
                console.print("failed to open parent \(parent): -\(error.errno)")
                return .failure(Failure(rawValue: error.errno))
            }
        } else {
            if sparse { console.print("opening for sparse writes") }
            if let error = WritableAccess.openError(parent) {
                console.print("error opening \(parent): -\(error.errno)")
                return .failure(Failure(rawValue: error.errno))
            }
        }
        let blocks = (try? child.bat().count) ?? 0
        var reporter = ProgressReporter(console: console, total: blocks, enabled: progress)
        do {
            let sectors = try Coalesce.file(child: path, sparse: sparse) { reporter.update($0) }
            reporter.finish()
            return .success(sectors)
        } catch {
            console.log(error)
            return .failure(Failure(rawValue: error.errno))
        }
    }
}

/// blktap's progress display: `\r%6.2f%%` before each of `total` steps, `\r100.00%\n` at the end.
struct ProgressReporter {
    let console: Console
    let total: Int
    let enabled: Bool
    private var shown = 0

    init(console: Console, total: Int, enabled: Bool) {
        self.console = console
        self.total = total
        self.enabled = enabled
        if enabled && total > 0 { show(0) }
    }

    /// Called with the fraction done after each step: shows the start of the next step.
    mutating func update(_ fraction: Double) {
        guard enabled, total > 0 else { return }
        let done = min(total, Int((fraction * Double(total)).rounded()))
        while shown < done && shown + 1 < total {
            shown += 1
            show(shown)
        }
    }

    func finish() {
        guard enabled else { return }
        console.out.write("\r100.00%\n")
        console.out.flush()
    }

    private func show(_ step: Int) {
        let percent = Double(Float(step) / Float(total)) * 100.0
        console.out.write(CFormat.format("\r%6.2f%%", percent))
        console.out.flush()
    }
}
