import Datapath
import DatapathBackend
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

    /// Ends standard output and starts the upkeep the command left (`AfterReply`) in a
    /// detached `sm sr-upkeep`, so neither the caller reading the reply nor one waiting for
    /// this process to exit waits for it.
    static func finishReply() {
        fflush(nil)
        for upkeep in AfterReply.take() {
            guard let executable = DatapathExecutable.ownExecutable() else { return }
            let sizes = upkeep.sizes.map(String.init).joined(separator: ",")
            _ = try? DetachedProcess.spawn(
                executable,
                arguments: ["sm", "sr-upkeep", "sr=\(upkeep.srUUID)", "directory=\(upkeep.directory)", "size=\(sizes)"],
                logPath: "/dev/null")
        }
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
