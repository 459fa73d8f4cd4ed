import ArgumentParser
import SM
import VHD

/// `sm vdi-import`: a new VDI holding a raw or VHD file's disk.
struct VDIImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vdi-import", abstract: "Import a raw or VHD file as a new VDI, or into an existing one.",
        discussion: """
            Parameters: filename= (a raw disk, or a VHD and its parents), format=raw or vhd (default: \
            from the name: .vhd is a VHD, .raw/.img/.bin raw), sr= (optional when one SR is attached), \
            name-label= (default: the file name), name-description=, type=vhd (the default) or raw \
            for the new VDI. Holes and zero blocks are not copied. Progress goes to stderr; the new \
            VDI's uuid to stdout. With uuid= the file replaces the content of that existing VDI \
            (which must be at least as large and not attached) instead.
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    func run() throws {
        let given = try Parameters(
            parameters, keys: ["filename", "format", "uuid", "sr", "sr-uuid", "name-label", "name-description", "type"])
        let path = try given.require("filename")
        let source = try ImageTransfer.source(path: path, format: try ImageTransfer.format(given["format"], path: path))
        let context = CLIContext()
        if let uuid = given["uuid"] {
            let entry = try context.findVDI(uuid, sr: given["sr"] ?? given["sr-uuid"])
            let record = try context.withEngine(entry) { host, engine -> VDIRecord in
                let record = try engine.vdi(uuid)
                guard !record.hidden, !record.readOnly else {
                    throw SRError(.vdiUnavailable, opterr: "VDI \(uuid) is read-only")
                }
                if try host.backendState(engine, uuid).isInUse {
                    throw SRError(.vdiInUse, opterr: "VDI \(uuid) is attached on this host")
                }
                let leaf = try engine.container.open(engine.container.naming.volume(for: uuid, type: record.volumeType), writable: false)
                if let written = leaf.identity, ImageTransfer.isFile(path, device: written.device, inode: written.inode) {
                    throw CLIError("refusing to import \(path) into VDI \(uuid): it is that VDI's own volume")
                }
                try ImageTransfer.write(
                    source, into: record, engine: engine, progress: ProgressReporter(label: "importing"))
                return try engine.refreshVDI(uuid)
            }
            if output.json { try Output.json(record) } else { print(record.uuid) }
            return
        }
        var request = SREngine.NewVDI(size: source.virtualSize)
        request.nameLabel = given["name-label"] ?? String(path.split(separator: "/").last ?? "")
        request.nameDescription = given["name-description"] ?? ""
        request.volumeType = try VDIOptions.volumeType(given["type"])
        let entry = try context.registry.find(given["sr"] ?? given["sr-uuid"])
        let record = try context.withEngine(entry) { host, engine -> VDIRecord in
            let progress = ProgressReporter(label: "importing")
            return try host.importVDI(engine, request, from: source) { progress.update($0) }
        }
        if output.json { try Output.json(record) } else { print(record.uuid) }
    }
}
