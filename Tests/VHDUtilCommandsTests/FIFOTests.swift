import Foundation
import Glibc
import TestSupport
import Testing

/// The built `vhd-util` on a FIFO, as an image and as a parent (its locator names a FIFO): each
/// command returns within the time bound, with the error saying what the file is. Before, they
/// blocked in `open(2)` for ever; `Tool` kills a run that passes the bound and the test fails.
@Suite(.enabled(if: ExecutableTests.binary != nil)) struct FIFOTests {
    static let bound = 20.0

    func run(_ arguments: String...) throws -> ToolResult {
        try Tool(name: "vhd-util", path: try #require(ExecutableTests.binary)).run(arguments, timeout: Self.bound)
    }

    @Test func aFIFOAsTheImageIsRefusedPromptly() throws {
        let workspace = try Workspace()
        let fifo = workspace.path("pipe.vhd")
        #expect(mkfifo(fifo, 0o644) == 0)
        let check = try run("check", "-n", fifo)
        #expect(check.status == 22)
        #expect(check.output == "\(fifo) is not a regular file or block device\n")
        let query = try run("query", "-n", fifo, "-v")
        #expect(query.status == 22)
        #expect(query.output == "error opening \(fifo): -22\n")
        let read = try run("read", "-n", fifo, "-p")
        #expect(read.status == 22)
        #expect(read.output.hasPrefix("Failed to open \(fifo): -22\n"))
    }

    @Test func aFIFOAsTheParentIsRefusedPromptly() throws {
        let workspace = try Workspace()
        try workspace.create("base.vhd", megabytes: 4)
        let leaf = try workspace.child("leaf.vhd", of: "base.vhd", megabytes: 4)
        try workspace.write(leaf, byte: 7, count: 512, at: 0)
        let base = workspace.path("base.vhd")
        #expect(unlink(base) == 0)
        #expect(mkfifo(base, 0o644) == 0)
        let fifo = try #require(realpath(base, nil).map { path in
            defer { free(path) }
            return String(cString: path)
        })
        let path = workspace.path("leaf.vhd")

        let check = try run("check", "-n", path)
        #expect(check.status == 22)
        #expect(
            check.output.hasPrefix(
                "invalid parent \(fifo): error opening parent: \(fifo) is a FIFO, not a regular file or block device\n"))
        let depth = try run("query", "-n", path, "-d")
        #expect(depth.status == 22)
        #expect(depth.output == "error checking chain depth: -22\n")
        // blktap's `read -r` prints nothing on failure (the reason goes to syslog with --debug).
        let read = try run("read", "-n", path, "-r", "0", "-c", "2")
        #expect(read.status == 22)
        #expect(read.standardOutput.isEmpty)
    }
}
