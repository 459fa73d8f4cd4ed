import Foundation
import TestSupport
import Testing
import VHDFormat

/// The built `vhd-util` executable, run as a process: exit statuses, stream separation, and the
/// failure-injection hooks (which end the process on the spot, so cannot run in process).
@Suite struct ExecutableTests {
    /// `vhd-util` next to the test bundle in the build directory, when it was built.
    static let binary: String? = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("vhd-util").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the binary with its output in files: reading pipes with Foundation traps on an
    /// interrupted read (EINTR) when many tests start processes at once.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        let result = try await Tool(name: "vhd-util", path: try #require(binary)).run(arguments, environment: environment)
        return Result(status: result.status, stdout: result.output, stderr: result.errorOutput)
    }

    @Test(.enabled(if: binary != nil))
    func exitStatusIsBlktapsPositiveErrno() async throws {
        let workspace = try Workspace()
        let missing = workspace.path("missing.vhd")
        let run = try await Self.run(["query", "-n", missing, "-v"])
        #expect(run.status == 2)
        #expect(run.stdout == "error opening \(missing): -2\n")
        let help = try await Self.run([])
        #expect(help.status == 0)
        #expect(help.stdout.hasPrefix("usage: vhd-util COMMAND [OPTIONS]\n"))
        let invalid = try await Self.run(["check", "-z"])
        #expect(invalid.status == 22)
        #expect(invalid.stderr == "check: invalid option -- 'z'\n")
    }

    @Test(.enabled(if: binary != nil))
    func coalesceOutputHasNoTrailingNewline() async throws {
        let workspace = try Workspace()
        try workspace.create("base.vhd", megabytes: 4)
        let child = try workspace.child("child.vhd", of: "base.vhd", megabytes: 4)
        try workspace.write(child, byte: 1, count: 1024, at: 0)
        let run = try await Self.run(["coalesce", "-n", workspace.path("child.vhd")])
        #expect(run.status == 0)
        #expect(run.stdout == "Coalesced 2 sectors")
    }

    @Test(.enabled(if: binary != nil))
    func injectedResizeFailureLeavesAJournalThatRevertUndoes() async throws {
        let workspace = try Workspace()
        let image = try workspace.create("x.vhd", megabytes: 10)
        try workspace.write(image, byte: 0x61, count: 10 << 20, at: 0)
        let path = workspace.path("x.vhd")
        let journal = workspace.path("x.journal")
        let failed = try await Self.run(
            ["resize", "-n", path, "-s", "600", "-j", journal],
            environment: ["VHD_UTIL_TEST_FAIL_RESIZE_METADATA_MOVED": "1"])
        #expect(failed.status == 22)
        #expect(failed.stdout == "Failing at VHD_UTIL_TEST_FAIL_RESIZE_METADATA_MOVED\n")
        #expect(workspace.exists("x.journal"))
        #expect(try await Self.run(["check", "-n", path]).stdout.hasPrefix("primary footer invalid: invalid cookie\n"))
        let reverted = try await Self.run(["revert", "-n", path, "-j", journal])
        #expect(reverted.status == 0)
        #expect(!workspace.exists("x.journal"))
        #expect(try await Self.run(["check", "-n", path]).stdout == "\(path) is valid\n")
        #expect(try await Self.run(["query", "-n", path, "-v"]).stdout == "10\n")
    }

    @Test(.enabled(if: binary != nil))
    func injectedReparentFailureStopsBeforeAnythingChanges() async throws {
        let workspace = try Workspace()
        try workspace.create("base.vhd", megabytes: 10)
        try workspace.child("child.vhd", of: "base.vhd", megabytes: 10)
        try FileManager.default.copyItem(atPath: workspace.path("base.vhd"), toPath: workspace.path("copy.vhd"))
        let run = try await Self.run(
            ["modify", "-n", workspace.path("child.vhd"), "-p", workspace.path("copy.vhd")],
            environment: ["VHD_UTIL_TEST_FAIL_REPARENT_BEGIN": "1"])
        #expect(run.status == 22)
        #expect(run.stdout == "Failing at VHD_UTIL_TEST_FAIL_REPARENT_BEGIN\n")
        #expect(try await Self.run(["query", "-n", workspace.path("child.vhd"), "-p", "-u"]).stdout == "./base.vhd\n")
    }
}
