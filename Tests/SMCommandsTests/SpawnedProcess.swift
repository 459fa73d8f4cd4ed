import Foundation
import Glibc

/// A process started with `posix_spawn`, which the caller waits for with a bound or kills at an
/// instant it chooses: what a kill-at-random-time test needs and `Tool` (a Foundation `Process`
/// behind a semaphore) cannot give precisely.
///
/// Standard input is `/dev/null`; standard output and error go to `<outputPrefix>.out` and
/// `.err`, never to pipes, so a chatty child cannot block. The child gets no other descriptor of
/// the test's, an empty signal mask and default dispositions. Owned by one thread.
final class SpawnedProcess {
    /// How a spawned process ended.
    struct Outcome: Sendable, CustomStringConvertible {
        var command: String
        /// The exit code, nil when a signal ended it.
        var exitCode: Int32?
        /// The signal that ended it, nil when it exited.
        var signal: Int32?
        /// Seconds from the spawn to the moment its end was seen (within ~0.2 ms).
        var elapsed: Double
        var output: String
        var errorOutput: String

        /// The shell's view: the exit code, or 128 + the signal.
        var status: Int32 { signal.map { 128 + $0 } ?? exitCode ?? -1 }
        var succeeded: Bool { exitCode == 0 }
        var wasKilled: Bool { signal == SIGKILL }
        /// Standard output without surrounding white space (a printed uuid).
        var trimmedOutput: String { output.trimmingCharacters(in: .whitespacesAndNewlines) }

        var description: String {
            "`\(command)` ended with status \(status) after \(Int(elapsed * 1000)) ms\n"
                + "stdout: \(output.prefix(600))\nstderr: \(errorOutput.suffix(600))"
        }
    }

    struct SpawnError: Error, CustomStringConvertible {
        var command: String
        var errno: Int32
        var description: String { "posix_spawn \(command): \(String(cString: strerror(errno)))" }
    }

    let command: String
    let pid: pid_t
    let started = ContinuousClock.now
    private let outputPrefix: String
    private var outcome: Outcome?

    init(executable: String, arguments: [String], environment: [String: String], outputPrefix: String) throws {
        command = ([executable] + arguments).joined(separator: " ")
        self.outputPrefix = outputPrefix
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPrefix + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, outputPrefix + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if let closeFrom = Self.closeFrom { _ = closeFrom(&actions, 3) }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw SpawnError(command: command, errno: result) }
        self.pid = pid
    }

    deinit {
        if outcome == nil { _ = kill() }
    }

    /// Waits until the process ends or `deadline` passes; nil when it is still running then.
    func wait(until deadline: ContinuousClock.Instant) -> Outcome? {
        var pause = 100  // microseconds, doubling up to 2 ms: precise early, cheap when long
        while true {
            if let ended = reap(blocking: false) { return ended }
            let now = ContinuousClock.now
            guard now < deadline else { return nil }
            let left = (deadline - now).components
            let leftMicroseconds = Int(left.seconds) * 1_000_000 + Int(left.attoseconds / 1_000_000_000_000)
            usleep(UInt32(max(1, min(pause, leftMicroseconds))))
            pause = min(pause * 2, 2000)
        }
    }

    /// Waits at most `timeout`; then kills the process, and the outcome says so (`SIGKILL`).
    func wait(timeout: Duration) -> (outcome: Outcome, timedOut: Bool) {
        if let ended = wait(until: started + timeout) { return (ended, false) }
        return (kill(), true)
    }

    /// Sends `SIGKILL` (unless it has already ended) and waits for the end.
    @discardableResult
    func kill() -> Outcome {
        if let outcome { return outcome }
        Glibc.kill(pid, SIGKILL)
        while true {
            if let ended = reap(blocking: true) { return ended }
        }
    }

    /// Kills the process `delay` after its spawn unless it ended before; the outcome tells which.
    func kill(after delay: Duration) -> Outcome {
        wait(until: started + delay) ?? kill()
    }

    /// The outcome once `waitpid` reports the end; nil while it runs (`blocking` false).
    /// The corresponding C function is `waitpid`.
    private func reap(blocking: Bool) -> Outcome? {
        if let outcome { return outcome }
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, blocking ? 0 : WNOHANG) } while result == -1 && errno == EINTR
        if result == 0 { return nil }
        let elapsed = (ContinuousClock.now - started) / .seconds(1)
        let exitCode: Int32?
        let signal: Int32?
        if result == -1 {
            (exitCode, signal) = (nil, nil)  // ECHILD: someone else reaped it; status unknown
        } else if status & 0x7f == 0 {
            (exitCode, signal) = ((status >> 8) & 0xff, nil)
        } else {
            (exitCode, signal) = (nil, status & 0x7f)
        }
        let ended = Outcome(
            command: command, exitCode: exitCode, signal: signal, elapsed: elapsed,
            output: Self.text(outputPrefix + ".out"), errorOutput: Self.text(outputPrefix + ".err"))
        outcome = ended
        return ended
    }

    private static func text(_ path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34), declared under `__USE_GNU` and
    /// so not imported into Swift: found with `dlsym`.
    private static let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
        unsafeBitCast($0, to: CloseFrom.self)
    }
}

/// The built `sm` (or `vhd-util`) run with one harness's private host state, each command
/// spawned directly (`SpawnedProcess`) with its output in files under `directory`.
struct SpawnedCommand: Sendable {
    let executable: String
    let environment: [String: String]
    let outputPrefix: String

    /// `executable` with the test process's environment plus `LC_ALL=C` and `extra`.
    init(executable: String, extra: [String: String], outputPrefix: String) {
        self.executable = executable
        var merged = ProcessInfo.processInfo.environment
        merged["LC_ALL"] = "C"
        merged.merge(extra) { $1 }
        environment = merged
        self.outputPrefix = outputPrefix
    }

    func start(_ arguments: [String]) throws -> SpawnedProcess {
        try SpawnedProcess(
            executable: executable, arguments: arguments, environment: environment, outputPrefix: outputPrefix)
    }

    /// Runs to the end, killing it after `timeout`; a timeout is reported as status 137 with
    /// "timed out" appended to its error output.
    func run(_ arguments: [String], timeout: Duration = .seconds(120)) throws -> SpawnedProcess.Outcome {
        var (outcome, timedOut) = try start(arguments).wait(timeout: timeout)
        if timedOut { outcome.errorOutput += "\n(timed out after \(timeout); killed)" }
        return outcome
    }
}
