import ArgumentParser
import Glibc

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Options every command shares.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of a table.")
    var json = false
}

/// Printing results: JSON (sorted keys, pretty) or aligned text tables.
enum Output {
    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// `rows` under `headers`, columns padded to their widest cell, two spaces apart.
    static func table(_ headers: [String], _ rows: [[String]]) {
        print(tableText(headers, rows), terminator: "")
    }

    static func tableText(_ headers: [String], _ rows: [[String]]) -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                let isLast = index == cells.count - 1
                text += isLast ? cell : cell + String(repeating: " ", count: widths[index] - cell.count + 2)
            }
            return text + "\n"
        }
        return line(headers) + rows.map(line).joined()
    }

    /// A message on standard error.
    static func note(_ text: String) {
        write(text + "\n", to: 2)
    }

    /// Writes all of `text` to file descriptor `descriptor` (unbuffered).
    static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            bytes = bytes.dropFirst(written)
        }
    }
}

/// Progress of a long transfer on standard error: a rewritten line on a terminal, otherwise a
/// line per tenth.
final class ProgressReporter {
    let label: String
    let isTerminal = isatty(2) == 1
    var lastShown = -1

    init(label: String) { self.label = label }

    func update(_ fraction: Double) {
        let percent = Int((max(0, min(1, fraction)) * 100).rounded(.down))
        let step = isTerminal ? percent : percent / 10 * 10
        guard step != lastShown else { return }
        lastShown = step
        Output.write(isTerminal ? "\r\(label): \(step)%" : "\(label): \(step)%\n", to: 2)
        if isTerminal && step == 100 { Output.write("\n", to: 2) }
    }
}
