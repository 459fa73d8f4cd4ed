import Glibc
import SM
import SMAPI

/// The `sm` executable's one entry: the name it was run by picks the front.
public enum SMEntryPoint {
    /// `<Type>SR` (a file name ending in `SR`): the SMAPIv1 plugin, which prints its reply and
    /// always exits 0. Anything else: the admin CLI.
    public static func main(_ arguments: [String] = CommandLine.arguments) -> Never {
        let argv0 = arguments.first ?? "sm"
        guard SMAPIInvocation.isPluginName(argv0), let plugin = SMAPIInvocation.pluginName(argv0) else {
            SMCommand.main(Array(arguments.dropFirst()))
            finishReply()
            exit(0)
        }
        Output.write(pluginOutput(plugin: plugin, arguments: Array(arguments.dropFirst())), to: 1)
        finishReply()
        exit(0)
    }

    /// Ends standard output, then runs the upkeep the command left (`AfterReply`). The caller
    /// reads the reply to end of file, so it goes on while the upkeep runs; standard output
    /// becomes /dev/null rather than closed so no file opened later can take descriptor 1.
    static func finishReply() {
        fflush(nil)
        let null = open("/dev/null", O_WRONLY)
        if null >= 0 {
            dup2(null, 1)
            close(null)
        }
        AfterReply.run()
    }

    /// What plugin `plugin` (`EXTSR`) prints for `arguments` (argv without argv[0]).
    public static func pluginOutput(plugin: String, arguments: [String], paths: HostPaths = .fromEnvironment())
        -> String
    {
        guard let type = SRDriverNames.type(forPluginName: plugin),
            let driver = SMDrivers.all(paths: paths).first(where: { $0.typeName == type })
        else { return SMAPIInvocation.unknownType(plugin) }
        let dispatcher = SMAPIDispatcher(
            host: SRHost(driver: driver, paths: paths, backend: BlockBackends.forHost(paths: paths)))
        return SMAPIInvocation.run(arguments: arguments, dispatcher: dispatcher)
    }
}
