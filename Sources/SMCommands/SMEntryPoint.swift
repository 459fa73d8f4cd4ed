import ArgumentParser
import Datapath
import DatapathBackend
import Glibc
import SM
import Processes
import SMAPI
import SMDrivers

/// The `sm` executable's one entry: the name it was run by picks the front.
public enum SMEntryPoint {
    /// `<Type>SR` (a file name ending in `SR`): the SMAPIv1 plugin, which prints its reply and
    /// always exits 0. Anything else: the admin CLI, which refuses an argument that is not
    /// UTF-8. Both read argv as bytes (`RawArguments`) and refuse host state directories that
    /// are not this user's alone (`HostPaths.verify`) before doing anything.
    public static func main() -> Never {
        let argv = RawArguments.current()
        let argv0 = argv.first.map { String(decoding: $0, as: UTF8.self) } ?? "sm"
        guard SMAPIInvocation.isPluginName(argv0), let plugin = SMAPIInvocation.pluginName(argv0) else {
            if let invalid = RawArguments.firstInvalid(argv) {
                SMCommand.exit(withError: ValidationError("\(invalid)"))
            }
            do { try HostPaths.fromEnvironment().verify() } catch { SMCommand.exit(withError: error) }
            SMCommand.main(CommandLine.arguments.dropFirst().map { $0 })
            finishReply()
            exit(0)
        }
        Output.write(pluginOutput(plugin: plugin, arguments: Array(argv.dropFirst())), to: 1)
        finishReply()
        exit(0)
    }

    /// Ends standard output and starts the upkeep the command left (`AfterReply`) in a
    /// detached `sm sr-upkeep`, so neither the caller reading the reply nor one waiting for
    /// this process to exit waits for it. The SR's descriptor goes to it as a 0600 file in the
    /// host's state directory, which it removes once read.
    static func finishReply(paths: HostPaths = .fromEnvironment()) {
        fflush(nil)
        for upkeep in AfterReply.take() {
            guard let executable = DatapathExecutable.ownExecutable() else { return }
            let directory = paths.stateDirectory + "/upkeep"
            let file = "\(directory)/\(upkeep.descriptor.srUUID)-\(Identifier.newUUID()).sr"
            do throws(SRError) {
                try SystemCall.makeDirectories(directory, code: .smGeneral)
                try upkeep.descriptor.write(to: file)
            } catch {
                continue
            }
            var arguments = ["sm", "sr-upkeep", "sr=\(upkeep.descriptor.srUUID)", "descriptor=\(file)"]
            if !upkeep.sizes.isEmpty { arguments.append("size=" + upkeep.sizes.map(String.init).joined(separator: ",")) }
            if upkeep.collect { arguments.append("gc=true") }
            if (try? DetachedProcess.spawn(executable, arguments: arguments, logPath: "/dev/null")) == nil {
                unlink(file)
            }
        }
    }

    /// What plugin `plugin` (`EXTSR`) prints for `arguments` (argv without argv[0], as bytes).
    public static func pluginOutput(plugin: String, arguments: [[UInt8]], paths: HostPaths = .fromEnvironment())
        -> String
    {
        guard let type = SRDriverNames.type(forPluginName: plugin),
            let driver = SMDrivers.all(paths: paths).first(where: { $0.typeName == type })
        else { return SMAPIInvocation.unknownType(plugin) }
        do { try paths.verify() } catch { return SMAPIReply.fault(error).encoded() }
        let dispatcher = SMAPIDispatcher(
            host: SRHost(driver: driver, paths: paths, backend: BlockBackends.forHost(paths: paths)))
        return SMAPIInvocation.run(arguments: arguments, dispatcher: dispatcher)
    }
}
