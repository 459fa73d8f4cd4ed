import VHD

/// `vhd-util convert [-I FORMAT] [-O FORMAT] [-p] [-s] INPUT OUTPUT` (swift-sm, not blktap): converts
/// between raw files and VHDs (a VHD chain is flattened). Formats are `raw`, `vhd` (dynamic) and
/// `fixed`; by default they follow the extensions (`.raw`/`.img` raw, `.vhd` dynamic VHD). `-s`
/// flushes the output before returning.
struct ConvertCommand: Subcommand {
    static let name = "convert"
    static let optionString = "I:O:psh"
    static let usage = Usage.convert

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var input: Convert.Format?
        var output: Convert.Format?
        var progress = false
        var sync = false
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("I", let value?), .option("O", let value?):
                guard let format = format(named: value) else {
                    console.printError("convert: unknown format '\(value)' (use raw, vhd or fixed)")
                    return usage(console, status: Errno.invalid)
                }
                if event == .option("I", value) { input = format } else { output = format }
            case .option("p", _): progress = true
            case .option("s", _): sync = true
            case .option("h", _): return usage(console, status: 0)
            default: return usage(console, status: Errno.invalid)
            }
        }
        let files = getopt.operands
        guard files.count == 2 else { return usage(console, status: Errno.invalid) }
        var reporter = PercentReporter(console: console, enabled: progress)
        do {
            try Convert.run(
                input: files[0], output: files[1], inputFormat: input, outputFormat: output, sync: sync,
                progress: progress ? { reporter.update($0) } : nil)
            reporter.finish()
            return 0
        } catch {
            if progress { console.out.write("\n") }
            console.printError("convert: \(error)")
            return error.errno
        }
    }

    static func format(named name: String) -> Convert.Format? {
        switch name {
        case "raw", "img": return .raw
        case "vhd", "dynamic": return .vhdDynamic
        case "fixed", "vhd-fixed": return .vhdFixed
        default: return nil
        }
    }
}

/// Progress as blktap prints it (`\r%6.2f%%`, then `\r100.00%\n`), for a fraction done, shown
/// when the hundredth changes.
struct PercentReporter {
    let console: Console
    let enabled: Bool
    private var last = -1

    init(console: Console, enabled: Bool) {
        self.console = console
        self.enabled = enabled
    }

    mutating func update(_ fraction: Double) {
        guard enabled else { return }
        let hundredths = Int(fraction * 10_000)
        guard hundredths != last, hundredths < 10_000 else { return }
        last = hundredths
        console.out.write(CFormat.format("\r%6.2f%%", fraction * 100))
        console.out.flush()
    }

    func finish() {
        guard enabled else { return }
        console.out.write("\r100.00%\n")
        console.out.flush()
    }
}
