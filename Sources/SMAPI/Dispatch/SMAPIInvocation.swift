import SM

/// The `<Type>SR` plugin entry: the process the toolstack execs with exactly one argument, an
/// XML-RPC `methodCall`. Whatever happens, the reply goes to standard output and the process
/// exits 0 (SM's `SRCommand.run`); the toolstack reads failures from the fault.
public enum SMAPIInvocation {
    /// Whether the executable name `argv0` (a path or a bare name) selects the plugin front:
    /// its file name ends in `SR` (`EXTSR`, `NFSSR`, `LVMoISCSISR`).
    public static func isPluginName(_ argv0: String) -> Bool {
        pluginName(argv0).map { SRDriverNames.type(forPluginName: $0) != nil } ?? false
    }

    /// The file name of `argv0`.
    public static func pluginName(_ argv0: String) -> String? {
        argv0.split(separator: "/").last.map(String.init)
    }

    /// The stdout text for a plugin invocation: `arguments` are argv without argv[0], as the
    /// bytes the process received (Swift's `CommandLine.arguments` would have replaced invalid
    /// UTF-8 with U+FFFD, which the document must be refused for instead). Anything but exactly
    /// one argument is `BadRequest` (143), as SM's `SRCommand.parse`.
    public static func run(arguments: [[UInt8]], dispatcher: SMAPIDispatcher) -> String {
        guard arguments.count == 1 else {
            let error = SRError(
                .badRequest, opterr: "expected one argument, an XML-RPC methodCall; got \(arguments.count)")
            return SMAPIReply.fault(error).encoded()
        }
        return dispatcher.reply(toDocument: arguments[0]).encoded()
    }

    /// The fault for an executable named after an SR type no driver serves (`SRUnknownType`, 48).
    public static func unknownType(_ pluginName: String) -> String {
        SMAPIReply.fault(SRError(.srUnknownType, opterr: "no driver for \(pluginName)")).encoded()
    }
}
