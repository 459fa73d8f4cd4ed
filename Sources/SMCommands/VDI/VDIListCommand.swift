import ArgumentParser
import SM

/// `sm vdi-list`: every VDI of the attached SRs, drawn as its snapshot tree.
struct VDIListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vdi-list", abstract: "List VDIs as snapshot trees.",
        discussion: """
            Parameters: sr= (a uuid or name-label; default every attached SR), uuid= (one VDI). \
            Base copies (hidden, read-only) are shown as the inner nodes of the tree they are.
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    struct Listing: Encodable {
        var sr: String
        var nameLabel: String
        var vdis: [VDIRecord]
    }

    func run() throws {
        let given = try Parameters(parameters, keys: ["sr", "sr-uuid", "uuid"])
        let context = CLIContext()
        let reference = given["sr"] ?? given["sr-uuid"]
        let entries =
            try reference.map { [try context.registry.find($0)] } ?? context.registry.entries().filter(\.attached)
        var listings: [Listing] = []
        for entry in entries {
            var vdis = try context.withEngine(entry) { _, engine in engine.vdis }
            if let uuid = given["uuid"] { vdis = vdis.filter { $0.uuid == uuid } }
            listings.append(Listing(sr: entry.uuid, nameLabel: entry.nameLabel, vdis: vdis))
        }
        if output.json { return try Output.json(listings) }
        for (index, listing) in listings.enumerated() {
            if index > 0 { print() }
            print("SR \(listing.sr)" + (listing.nameLabel.isEmpty ? "" : " (\(listing.nameLabel))"))
            print(VDITree.render(listing.vdis), terminator: "")
        }
    }
}

/// The VHD parent tree of an SR's VDIs as text: one line per VDI, children indented under
/// their parent with box-drawing branches, columns aligned.
enum VDITree {
    static func render(_ records: [VDIRecord]) -> String {
        let byUUID = Dictionary(records.map { ($0.uuid, $0) }, uniquingKeysWith: { first, _ in first })
        var children: [String: [VDIRecord]] = [:]
        var roots: [VDIRecord] = []
        for record in records {
            if !record.parent.isEmpty, byUUID[record.parent] != nil {
                children[record.parent, default: []].append(record)
            } else {
                roots.append(record)
            }
        }
        var rows: [[String]] = []
        func visit(_ record: VDIRecord, prefix: String, branch: String) {
            rows.append([prefix + branch + record.uuid] + columns(record))
            let kids = (children[record.uuid] ?? []).sorted(by: order)
            let childPrefix = prefix + (branch == "├─ " ? "│  " : branch.isEmpty ? "" : "   ")
            for (index, child) in kids.enumerated() {
                visit(child, prefix: childPrefix, branch: index == kids.count - 1 ? "└─ " : "├─ ")
            }
        }
        for root in roots.sorted(by: order) { visit(root, prefix: "", branch: "") }
        if rows.isEmpty { return "(no VDIs)\n" }
        return Output.tableText(["uuid", "name-label", "virtual-size", "physical", "kind"], rows)
    }

    /// Users' VDIs before snapshots, then by snapshot time and uuid.
    static func order(_ a: VDIRecord, _ b: VDIRecord) -> Bool {
        (a.isASnapshot ? 1 : 0, a.snapshotTime, a.uuid) < (b.isASnapshot ? 1 : 0, b.snapshotTime, b.uuid)
    }

    static func columns(_ record: VDIRecord) -> [String] {
        var kind: [String] = []
        if record.hidden { kind.append("base copy") }
        if record.isASnapshot {
            kind.append(
                "snapshot" + (record.snapshotOf.isEmpty ? "" : " of \(record.snapshotOf.prefix(8))")
                    + " at \(record.snapshotTime)")
        }
        if record.volumeType == .raw { kind.append("raw") }
        if record.readOnly && !record.hidden { kind.append("read-only") }
        if kind.isEmpty { kind.append("disk") }
        return [
            record.hidden && record.nameLabel == "base copy" ? "" : record.nameLabel,
            ByteSize.format(record.virtualSize),
            ByteSize.format(record.physicalUtilisation), kind.joined(separator: ", "),
        ]
    }
}
