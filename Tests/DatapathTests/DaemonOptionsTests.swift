import Datapath
import Testing

@Suite struct DaemonOptionsTests {
    @Test func parsesEveryOption() throws {
        let parsed = try DaemonOptions.parse([
            "--socket", "/run/nbd.sock", "--control", "/run/ctl.sock", "--pidfile", "/run/d.pid", "--tcp", "10810",
            "--export", "a=/sr/a.vhd", "--export", "b=/sr/b.raw:ro",
        ])
        let expected = DaemonOptions(
            socketPath: "/run/nbd.sock", controlPath: "/run/ctl.sock", pidFile: "/run/d.pid", tcpHost: "127.0.0.1",
            tcpPort: 10810,
            exports: [
                ExportSpec(name: "a", path: "/sr/a.vhd"), ExportSpec(name: "b", path: "/sr/b.raw", readOnly: true),
            ])
        #expect(parsed == .run(expected))
    }

    @Test func tcpTakesAHostAndHelpWinsOverEverythingElse() throws {
        let parsed = try DaemonOptions.parse(["--socket", "s", "--control", "c", "--tcp", "0.0.0.0:10809"])
        guard case .run(let options) = parsed else {
            Issue.record("expected run, got \(parsed)")
            return
        }
        #expect(options.tcpHost == "0.0.0.0" && options.tcpPort == 10809)
        #expect(try DaemonOptions.parse(["--socket", "s", "--help"]) == .help)
    }

    @Test(arguments: [
        (["--control", "c"], "--socket PATH is required"),
        (["--socket", "s"], "--control PATH is required"),
        (["--socket", "s", "--control", "s"], "--socket and --control must differ"),
        (["--socket"], "--socket needs a value"),
        (["--socket", "s", "--control", "c", "--bogus"], "unknown argument --bogus"),
        (["--socket", "s", "--control", "c", "--tcp", "host:port"], "--tcp host:port: expected [HOST:]PORT"),
        (["--socket", "s", "--control", "c", "--export", "nopath"], "--export nopath: expected NAME=PATH[:ro]"),
        (["--socket", "s", "--control", "c", "--export", "=p"], "--export =p: empty name or path"),
        (
            ["--socket", "s", "--control", "c", "--export", "a=p", "--export", "a=q"],
            "--export: the name a is given twice"
        ),
    ])
    func rejectsABadCommandLineSayingWhy(arguments: [String], message: String) {
        #expect(throws: DatapathError.usage(message)) { try DaemonOptions.parse(arguments) }
    }
}
