/// The daemon's command line: `sm-datapathd --socket PATH --control PATH [--pidfile PATH]
/// [--sr DESCRIPTOR] [--tcp [HOST:]PORT] [--export NAME=PATH[:ro]]...`.
public struct DaemonOptions: Sendable, Equatable {
    /// The Unix socket NBD clients connect to.
    public var socketPath: String
    /// The Unix socket the control channel listens on.
    public var controlPath: String
    /// Where the daemon writes its process id.
    public var pidFile: String?
    /// TCP to serve NBD on as well (host defaults to loopback).
    public var tcpHost: String?
    public var tcpPort: UInt16?
    /// The exports served from the start.
    public var exports: [ExportSpec]
    /// The SR descriptor file (`SRDescriptor`): exports are then the SR's volumes, opened
    /// through its driver, and `--export` and `open` name volumes rather than paths.
    public var srDescriptor: String?

    public init(
        socketPath: String, controlPath: String, pidFile: String? = nil, tcpHost: String? = nil,
        tcpPort: UInt16? = nil, exports: [ExportSpec] = [], srDescriptor: String? = nil
    ) {
        self.socketPath = socketPath
        self.controlPath = controlPath
        self.pidFile = pidFile
        self.tcpHost = tcpHost
        self.tcpPort = tcpPort
        self.exports = exports
        self.srDescriptor = srDescriptor
    }

    public static let usage = """
        usage: sm-datapathd --socket PATH --control PATH [--pidfile PATH] [--sr DESCRIPTOR]
                            [--tcp [HOST:]PORT] [--export NAME=PATH[:ro]]...

        Serves volumes over NBD until SIGTERM, SIGINT or the control operation "shutdown".

          --socket PATH              the Unix socket NBD clients connect to
          --control PATH             the Unix socket of the control channel (newline-delimited JSON)
          --pidfile PATH             write the process id here (removed at exit)
          --sr DESCRIPTOR            serve the volumes of the SR this file describes (JSON: type,
                                     sr_uuid, device_config; mode 0600), opened through its
                                     driver; exports then name volumes, not paths
          --tcp [HOST:]PORT          also serve NBD on TCP (HOST defaults to 127.0.0.1)
          --export NAME=PATH[:ro]    serve PATH (a .vhd chain, a raw file or a block device; with
                                     --sr, a volume of the SR) as export NAME (the VDI uuid);
                                     :ro serves it read-only
          --help                     print this help
        """

    /// What the command line asks for: to run, or to print the help.
    public enum Parsed: Sendable, Equatable {
        case run(DaemonOptions)
        case help
    }

    /// Parses `arguments` (without the program name).
    ///
    /// - Throws: `DatapathError.usage` saying what is wrong.
    public static func parse(_ arguments: [String]) throws(DatapathError) -> Parsed {
        var socketPath: String?
        var controlPath: String?
        var options = DaemonOptions(socketPath: "", controlPath: "")
        var index = 0
        func value(_ option: String) throws(DatapathError) -> String {
            index += 1
            guard index < arguments.count, !arguments[index].isEmpty else { throw .usage("\(option) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "--help", "-h": return .help
            case "--socket": socketPath = try value(argument)
            case "--control": controlPath = try value(argument)
            case "--pidfile": options.pidFile = try value(argument)
            case "--sr": options.srDescriptor = try value(argument)
            case "--tcp": (options.tcpHost, options.tcpPort) = try parseTCP(try value(argument))
            case "--export":
                let spec = try ExportSpec(parsing: try value(argument))
                guard !options.exports.contains(where: { $0.name == spec.name }) else {
                    throw .usage("--export: the name \(spec.name) is given twice")
                }
                options.exports.append(spec)
            default: throw .usage("unknown argument \(argument)")
            }
            index += 1
        }
        guard let socketPath else { throw .usage("--socket PATH is required") }
        guard let controlPath else { throw .usage("--control PATH is required") }
        guard socketPath != controlPath else { throw .usage("--socket and --control must differ") }
        options.socketPath = socketPath
        options.controlPath = controlPath
        return .run(options)
    }

    /// `[HOST:]PORT` → (host, port), host defaulting to loopback.
    static func parseTCP(_ text: String) throws(DatapathError) -> (String, UInt16) {
        let host: String
        let portText: Substring
        if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        } else {
            host = "127.0.0.1"
            portText = Substring(text)
        }
        guard !host.isEmpty, let port = UInt16(portText) else { throw .usage("--tcp \(text): expected [HOST:]PORT") }
        return (host, port)
    }
}
