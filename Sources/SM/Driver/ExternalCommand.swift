import Glibc
import Processes

/// A system tool a driver must run (`mkfs.ext4`, `mount`, `umount`, `wipefs`): never on the
/// data path, only to prepare or attach storage. The tool's standard output and error are
/// collected together through one pipe, read to its end before the wait, so a chatty tool can
/// never block; its standard input is `/dev/null`.
public struct ExternalCommand: Sendable, CustomStringConvertible {
    /// What a finished tool did.
    public struct Result: Sendable {
        /// The exit status, 128 + the signal number when a signal ended it, or 127 when the tool
        /// could not be started.
        public var status: Int32
        /// Standard output and error, interleaved, at most `outputLimit` bytes.
        public var output: String
        public var succeeded: Bool { status == 0 }
    }

    /// The most output kept for messages.
    public static let outputLimit = 64 << 10
    /// Where tools are looked for after `PATH`: root's sbin directories, which a toolstack's
    /// minimal `PATH` may lack.
    public static let systemDirectories = [
        "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
    ]

    /// The tool's name (`mkfs.ext4`) or absolute path.
    public var tool: String
    public var arguments: [String]

    public init(_ tool: String, _ arguments: [String]) {
        self.tool = tool
        self.arguments = arguments
    }

    public var description: String { ([tool] + arguments).joined(separator: " ") }

    /// The tool's absolute path: `tool` itself when it contains a `/`, else the first
    /// executable of that name on `PATH` or in `systemDirectories`.
    public static func locate(_ tool: String) -> String? {
        if tool.contains("/") { return access(tool, X_OK) == 0 ? tool : nil }
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        let directories = path.split(separator: ":").map(String.init) + systemDirectories
        for directory in directories where !directory.isEmpty {
            let candidate = directory + "/" + tool
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs the tool (`ChildProcess`) and waits for it, reading its output to the end first.
    public func run() -> Result {
        guard let executable = Self.locate(tool) else {
            return Result(status: 127, output: "\(tool): command not found")
        }
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else {
            return Result(status: 127, output: "\(tool): pipe failed: \(String(cString: strerror(errno)))")
        }
        // Close-on-exec, so no other child started meanwhile inherits the pipe and keeps it open.
        _ = fcntl(pipeEnds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipeEnds[1], F_SETFD, FD_CLOEXEC)
        let child = ChildProcess(
            executable: executable, arguments: [executable] + arguments, output: .descriptor(pipeEnds[1]), detached: false)
        let spawned: pid_t
        do { spawned = try child.spawn() } catch {
            close(pipeEnds[1])
            close(pipeEnds[0])
            return Result(status: 127, output: "\(tool): \(error)")
        }
        close(pipeEnds[1])
        let output = Self.drain(pipeEnds[0])
        close(pipeEnds[0])
        return Result(status: ChildProcess.wait(for: spawned), output: output)
    }

    /// Reads `descriptor` to its end, keeping the first `outputLimit` bytes.
    static func drain(_ descriptor: Int32) -> String {
        var kept: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            if kept.count < outputLimit { kept += buffer.prefix(min(count, outputLimit - kept.count)) }
        }
        return String(decoding: kept, as: UTF8.self)
    }

}
