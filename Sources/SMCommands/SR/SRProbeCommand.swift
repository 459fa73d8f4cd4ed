import ArgumentParser
import SM

/// `sm sr-probe`: the SRs found on some storage, as the driver's probe XML.
struct SRProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sr-probe", abstract: "Find SRs on a directory or device.",
        discussion: """
            Parameters: type=ext (the default), device-config:<key>=<value> (path= or device=), \
            sm-config:metadata=true for names and descriptions. Prints the probe XML, or with \
            --json the SRs found.
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    func run() throws {
        let given = try Parameters(parameters, keys: ["type"], mapPrefixes: ["device-config:", "sm-config:"])
        let host = try CLIContext().host(type: given["type"] ?? "ext")
        let xml = try host.probe(deviceConfig: given.map("device-config:"), smConfig: given.map("sm-config:"))
        if output.json { try Output.json(ProbeListing.parse(xml)) } else { print(xml, terminator: "") }
    }
}

/// The `<SR>` entries of a probe document as `[element: text]` maps (the document is the
/// driver's own flat `<SRlist><SR><Tag>text</Tag>…</SR></SRlist>`).
enum ProbeListing {
    static func parse(_ xml: String) -> [[String: String]] {
        xml.split(separator: "<SR>", omittingEmptySubsequences: false).dropFirst().map { block in
            let body = block.split(separator: "</SR>", omittingEmptySubsequences: false)[0]
            var fields: [String: String] = [:]
            for piece in body.split(separator: "</", omittingEmptySubsequences: false).dropLast() {
                guard let open = piece.lastIndex(of: "<") else { continue }
                let element = piece[piece.index(after: open)...]
                guard let close = element.firstIndex(of: ">") else { continue }
                fields[String(element[..<close])] = unescape(String(element[element.index(after: close)...]))
            }
            return fields
        }
    }

    static func unescape(_ text: String) -> String {
        text.replacing("&lt;", with: "<").replacing("&gt;", with: ">").replacing("&quot;", with: "\"")
            .replacing("&amp;", with: "&")
    }
}
