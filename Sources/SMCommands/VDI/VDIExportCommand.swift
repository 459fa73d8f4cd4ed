import ArgumentParser
import BlockIO
import SM
import VHD

/// `sm vdi-export`: a VDI's disk as a raw or VHD file.
struct VDIExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vdi-export", abstract: "Export a VDI to a raw or VHD file.",
        discussion: """
            Parameters: uuid=, filename= (replaced if it exists; never a file inside an attached SR), \
            format=raw, vhd (dynamic) or vhd-fixed (default: from the name). The VDI's whole chain is flattened; a raw file stays \
            sparse where the disk holds zeros. Progress goes to stderr.
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "sr", "filename", "format"])
        let uuid = try given.require("uuid")
        let path = try given.require("filename")
        let format = try ImageTransfer.format(given["format"], path: path)
        let context = CLIContext()
        let entry = try context.findVDI(uuid, sr: given["sr"])
        let guarded = try context.attachedContainers()
        try context.withEngine(entry) { _, engine in
            let record = try engine.vdi(uuid)
            let source = try ImageTransfer.source(vdi: record, engine: engine)
            let progress = ProgressReporter(label: "exporting")
            let store = try OutputFile.create(path, outside: guarded + [(engine.srUUID, engine.container)])
            // Like `qemu-img convert` (and `vhd-util convert` without -s), no flush of the copy.
            try Convert.convert(source, to: format, store: store) { progress.update($0) }
        }
    }
}
