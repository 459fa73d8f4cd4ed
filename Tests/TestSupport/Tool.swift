import Foundation

/// A command-line tool the tests run for real (qemu-img, qemu-io, vhdiinfo, vhdimount, …),
/// found on `PATH`.
///
/// ```swift
/// let qemuImg = try Tool.require("qemu-img")
/// let info = try qemuImg.run(["info", "--output=json", path])
/// try info.requireSuccess()
/// ```
///
/// Output goes to files in a private temporary directory, never to pipes, so a chatty tool
/// can never block on a full pipe; `run` waits at most `timeout` and then kills the tool.
public struct Tool: Sendable, CustomStringConvertible {
    /// The tool's name as looked up ("qemu-img").
    public let name: String
    /// The executable's absolute path.
    public let path: String

    public var description: String { name }

    /// The executable at `path` (one not on `PATH`, such as a freshly built binary).
    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }

    /// The tool called `name` on `PATH` (plus the sbin directories root's `PATH` usually has),
    /// nil when it is not installed.
    public static func find(_ name: String) -> Tool? {
        let environmentPath = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = environmentPath.split(separator: ":").map(String.init)
            + ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        for directory in directories where !directory.isEmpty {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return Tool(name: name, path: candidate) }
        }
        return nil
    }

    /// Whether `name` is installed; for `@Test(.enabled(if: Tool.isAvailable("qemu-img")))`.
    public static func isAvailable(_ name: String) -> Bool { find(name) != nil }

    /// The tool called `name`, or an error saying it is missing (scripts/test installs it).
    public static func require(_ name: String) throws -> Tool {
        guard let tool = find(name) else { throw ToolError.notInstalled(name) }
        return tool
    }

    /// Runs the tool with `arguments` and waits for it to exit.
    ///
    /// - Parameters:
    ///   - input: bytes written to the tool's standard input (else it reads `/dev/null`).
    ///   - timeout: seconds to wait before killing it (`SIGTERM`, then `SIGKILL`) and throwing
    ///     `ToolError.timedOut`.
    /// - Returns: the exit status and everything it printed.
    public func run(
        _ arguments: [String], input: [UInt8]? = nil, environment: [String: String] = [:], timeout: Double = 120
    ) throws -> ToolResult {
        let process = try RunningTool(self, arguments, input: input, environment: environment)
        return try process.wait(timeout: timeout)
    }

    /// Runs the tool as `run` does, but suspends while it runs instead of holding a thread:
    /// swift-testing's shared pool has as many threads as cores (two here), and a test that
    /// blocks one while a tool runs starves every other test of it.
    public func run(
        _ arguments: [String], input: [UInt8]? = nil, environment: [String: String] = [:], timeout: Double = 120
    ) async throws -> ToolResult {
        let process = try RunningTool(self, arguments, input: input, environment: environment)
        return try await process.wait(timeout: timeout)
    }

    /// Starts the tool and returns at once, for daemons a test stops itself (a FUSE mount);
    /// call `stop()` or `wait(timeout:)` on the result.
    public func start(_ arguments: [String], environment: [String: String] = [:]) throws -> RunningTool {
        try RunningTool(self, arguments, input: nil, environment: environment)
    }
}

/// What a finished tool did.
public struct ToolResult: Sendable, CustomStringConvertible {
    /// The command line, for messages.
    public let command: String
    /// The exit status, or 128 + the signal number when a signal ended it.
    public let status: Int32
    public let standardOutput: [UInt8]
    public let standardError: [UInt8]

    /// Standard output as text (UTF-8, invalid sequences repaired).
    public var output: String { String(decoding: standardOutput, as: UTF8.self) }
    /// Standard error as text.
    public var errorOutput: String { String(decoding: standardError, as: UTF8.self) }
    public var succeeded: Bool { status == 0 }

    public var description: String {
        "`\(command)` exited \(status)\nstdout: \(output.prefix(2000))\nstderr: \(errorOutput.prefix(2000))"
    }

    /// Throws `ToolError.failed` (with the command, status and output) unless the exit status is 0.
    @discardableResult
    public func requireSuccess() throws -> ToolResult {
        guard succeeded else { throw ToolError.failed(self) }
        return self
    }

    /// Decodes standard output as JSON (`qemu-img info --output=json`).
    public func json<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(standardOutput))
    }
}

/// Why a tool could not be run, or how it failed.
public enum ToolError: Error, CustomStringConvertible {
    case notInstalled(String)
    case failed(ToolResult)
    case timedOut(command: String, seconds: Double)

    public var description: String {
        switch self {
        case .notInstalled(let name): return "\(name) is not installed (scripts/test installs it)"
        case .failed(let result): return result.description
        case .timedOut(let command, let seconds): return "`\(command)` did not finish within \(seconds) s; killed"
        }
    }
}

/// A started tool: its process and the files its output goes to.
///
/// Locking: `Process` is not `Sendable`; it is touched only by the thread that owns the
/// `RunningTool` (tests start, wait for and stop their own tools), and the termination
/// signal crosses threads through a `DispatchSemaphore`.
public final class RunningTool: @unchecked Sendable {
    public let command: String
    private let process = Process()
    private let exited = DispatchSemaphore(value: 0)
    private let outputDirectory: String
    private var result: ToolResult?

    init(_ tool: Tool, _ arguments: [String], input: [UInt8]?, environment: [String: String]) throws {
        command = ([tool.path] + arguments).map(RunningTool.quoted).joined(separator: " ")
        outputDirectory = NSTemporaryDirectory() + "/tool-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: outputDirectory + "/stdout", contents: nil)
        _ = FileManager.default.createFile(atPath: outputDirectory + "/stderr", contents: nil)
        process.executableURL = URL(fileURLWithPath: tool.path)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged["LC_ALL"] = "C"
        merged.merge(environment) { $1 }
        process.environment = merged
        process.standardOutput = FileHandle(forWritingAtPath: outputDirectory + "/stdout")
        process.standardError = FileHandle(forWritingAtPath: outputDirectory + "/stderr")
        if let input {
            let inputPath = outputDirectory + "/stdin"
            _ = FileManager.default.createFile(atPath: inputPath, contents: Data(input))
            process.standardInput = FileHandle(forReadingAtPath: inputPath)
        } else {
            process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        }
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
    }

    deinit {
        if result == nil { _ = try? stop() }
        try? FileManager.default.removeItem(atPath: outputDirectory)
    }

    /// The process id.
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Whether the tool is still running.
    public var isRunning: Bool { result == nil && process.isRunning }

    /// What it has printed so far on standard error (a daemon's log).
    public var errorOutputSoFar: String {
        String(decoding: FileManager.default.contents(atPath: outputDirectory + "/stderr") ?? Data(), as: UTF8.self)
    }

    /// Waits up to `timeout` seconds for the tool to exit; kills it and throws on timeout.
    @discardableResult
    public func wait(timeout: Double) throws -> ToolResult {
        if let result { return result }
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            _ = try? stop()
            throw ToolError.timedOut(command: command, seconds: timeout)
        }
        return finish()
    }

    /// Waits as `wait(timeout:)` does, suspended between short polls rather than blocking.
    @discardableResult
    public func wait(timeout: Double) async throws -> ToolResult {
        if let result { return result }
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while exited.wait(timeout: .now()) == .timedOut {
            guard ContinuousClock.now < deadline else {
                _ = try? stop()
                throw ToolError.timedOut(command: command, seconds: timeout)
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        return finish()
    }

    /// Stops the tool: `SIGTERM`, then after `grace` seconds `SIGKILL`; returns what it did.
    ///
    /// Foundation's `Process` (swift-corelibs) spawns children with the spawning thread's signal
    /// mask, and test threads block `SIGTERM`, so a tool started from a test usually ignores it
    /// until it unblocks the signal itself; hence the short grace before `SIGKILL`.
    @discardableResult
    public func stop(grace: Double = 1) throws -> ToolResult {
        if let result { return result }
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        if exited.wait(timeout: .now() + grace) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
        }
        return finish()
    }

    private func finish() -> ToolResult {
        let status: Int32
        switch process.terminationReason {
        case .uncaughtSignal: status = 128 + process.terminationStatus
        default: status = process.terminationStatus
        }
        let finished = ToolResult(
            command: command, status: status,
            standardOutput: [UInt8](FileManager.default.contents(atPath: outputDirectory + "/stdout") ?? Data()),
            standardError: [UInt8](FileManager.default.contents(atPath: outputDirectory + "/stderr") ?? Data()))
        result = finished
        return finished
    }

    static func quoted(_ argument: String) -> String {
        let plain = argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }
        return plain && !argument.isEmpty ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
