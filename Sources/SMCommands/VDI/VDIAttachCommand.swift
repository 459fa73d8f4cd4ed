import ArgumentParser
import SM

/// `sm vdi-attach`: attaches and activates a VDI on this host (the toolstack's VBD plug) and
/// prints where a consumer reaches it.
struct VDIAttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vdi-attach", abstract: "Attach and activate a VDI on this host; print its NBD URI.",
        discussion: """
            Parameters: uuid= (the VDI), mode=RW (the default) or RO. The VDI is served by its \
            datapath daemon until vdi-detach; connect with any NBD client, e.g. \
            nbdinfo 'nbd+unix:///UUID?socket=PATH' or qemu-img info 'nbd:unix:PATH:exportname=UUID'.
            """)

    @Argument(help: "key=value parameters") var parameters: [String] = []
    @OptionGroup var output: OutputOptions

    struct Attached: Encodable {
        var uuid: String
        var params: String
        var params_nbd: String
        var socket: String
        var mode: String
    }

    func run() throws {
        let given = try Parameters(parameters, keys: ["uuid", "sr", "mode"])
        let uuid = try given.require("uuid")
        let mode = (given["mode"] ?? "RW").uppercased()
        guard mode == "RW" || mode == "RO" else { throw CLIError("mode must be RW or RO, not \(mode)") }
        let context = CLIContext()
        let entry = try context.findVDI(uuid, sr: given["sr"])
        let info = try context.withEngine(entry) { host, engine -> AttachInfo in
            let wasAttached = try host.backendState(engine, uuid).attached
            let info = try host.attachVDI(engine, uuid, writable: mode == "RW")
            do { try host.activateVDI(engine, uuid, writable: mode == "RW") } catch {
                // Undo only this command's attach: another consumer's must survive.
                if !wasAttached { try? host.detachVDI(engine, uuid) }
                throw error
            }
            return info
        }
        let socket = info.paramsNBD.split(separator: ":").dropFirst(2).first.map(String.init) ?? ""
        let attached = Attached(uuid: uuid, params: info.params, params_nbd: info.paramsNBD, socket: socket, mode: mode)
        if output.json { try Output.json(attached) } else { print(info.paramsNBD.isEmpty ? info.params : info.paramsNBD) }
    }
}
