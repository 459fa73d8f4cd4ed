import Foundation

/// `sm-datapathd`'s whole life: parse the command line, start the daemon, serve in the
/// foreground until SIGTERM, SIGINT or the control operation `shutdown`, then shut down cleanly.
public enum DatapathCommand {
    /// Opens the SR a descriptor file describes, as the source of a daemon's exports.
    public typealias SROpener = (_ descriptorPath: String) throws(DatapathError) -> any ExportSource

    /// Runs the daemon for `arguments` (without the program name); returns the exit status:
    /// 0 after a clean shutdown or `--help`, 1 when it cannot start (the SR cannot be opened)
    /// or an export failed its final flush, 2 for a bad command line.
    public static func main(_ arguments: [String], openSR: SROpener? = nil) -> Int32 {
        let options: DaemonOptions
        do {
            switch try DaemonOptions.parse(arguments) {
            case .help:
                print(DaemonOptions.usage)
                return 0
            case .run(let parsed): options = parsed
            }
        } catch {
            FileHandle.standardError.write(Data("sm-datapathd: \(error)\n\(DaemonOptions.usage)\n".utf8))
            return 2
        }
        // Everything the daemon creates (sockets, pidfile) is its owner's alone, whatever umask
        // the caller had: set once here, before any thread exists to race with it.
        umask(0o077)
        // Block the shutdown signals in every thread (threads inherit the mask, so do it before
        // any is started) and take them synchronously on one thread with sigwait.
        signal(SIGPIPE, SIG_IGN)
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let source: any ExportSource
        do {
            source = try exportSource(options, openSR: openSR)
        } catch {
            Log.info("cannot start: \(error)")
            return 1
        }
        let daemon = DatapathDaemon(options: options, source: source)
        do {
            try daemon.start()
        } catch {
            Log.info("cannot start: \(error)")
            return 1
        }
        let waiter = Thread { [signals] in
            var set = signals
            var received: Int32 = 0
            sigwait(&set, &received)
            Log.info("received \(received == SIGTERM ? "SIGTERM" : "SIGINT"), shutting down")
            daemon.requestShutdown()
        }
        waiter.start()
        daemon.waitForShutdownRequest()
        return daemon.shutdown() ? 0 : 1
    }

    /// The SR's volumes when `--sr` names a descriptor, else paths.
    static func exportSource(_ options: DaemonOptions, openSR: SROpener?) throws(DatapathError) -> any ExportSource {
        guard let descriptor = options.srDescriptor else { return PathExportSource() }
        guard let openSR else { throw .usage("--sr: this daemon was built without SR drivers") }
        return try openSR(descriptor)
    }
}
