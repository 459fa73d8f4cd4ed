import Glibc

/// Where a command writes: standard output, standard error, or a buffer in tests.
///
/// Sinks are reference types so one sink can be shared by the dispatcher and the command it runs.
public protocol OutputSink: AnyObject {
    /// Writes bytes in order with what was written before.
    func write(_ bytes: UnsafeRawBufferPointer)
    /// Writes bytes that blktap sends with a raw `write(2)`, bypassing stdio buffering (binary
    /// dumps). A buffered sink writes them before its pending text, as blktap's output appears.
    func writeUnbuffered(_ bytes: UnsafeRawBufferPointer)
    /// Delivers pending bytes (blktap's `fflush`).
    func flush()
}

extension OutputSink {
    /// By default, unbuffered bytes are written like any others.
    public func writeUnbuffered(_ bytes: UnsafeRawBufferPointer) { write(bytes) }
    /// By default there is nothing to flush.
    public func flush() {}

    /// Writes `text` as UTF-8.
    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes `bytes`.
    public func write(bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }
}

/// Standard output or error: text is buffered like C stdio (fully when not a terminal, flushed
/// at each write on a terminal); raw binary writes go straight out.
///
/// Not thread-safe: one command writes at a time.
public final class FileDescriptorOutput: OutputSink, @unchecked Sendable {
    /// The file descriptor written to (1 or 2).
    public let descriptor: Int32
    private let buffered: Bool
    private var pending: [UInt8] = []

    /// - Parameter buffered: hold text until `flush()` or 64 KiB (stdout); false writes at once (stderr).
    public init(descriptor: Int32, buffered: Bool) {
        self.descriptor = descriptor
        self.buffered = buffered && isatty(descriptor) == 0
    }

    deinit { flush() }

    /// Buffers `bytes` (or writes them at once when unbuffered).
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard buffered else {
            writeAll(bytes)
            return
        }
        pending.append(contentsOf: bytes)
        if pending.count >= 1 << 16 { flush() }
    }

    /// Writes `bytes` at once, ahead of pending buffered text.
    public func writeUnbuffered(_ bytes: UnsafeRawBufferPointer) { writeAll(bytes) }

    /// Writes the pending text.
    public func flush() {
        guard !pending.isEmpty else { return }
        let bytes = pending
        pending.removeAll(keepingCapacity: true)
        bytes.withUnsafeBytes { writeAll($0) }
    }

    /// The corresponding C function is `write`.
    private func writeAll(_ bytes: UnsafeRawBufferPointer) {
        var done = 0
        while done < bytes.count, let base = bytes.baseAddress {
            let written = Glibc.write(descriptor, base + done, bytes.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            done += written
        }
    }
}

/// Collects everything written, for tests and for in-process callers.
public final class CapturedOutput: OutputSink, TextOutputStream, @unchecked Sendable {
    /// Everything written, in order.
    public private(set) var bytes: [UInt8] = []

    /// An empty capture.
    public init() {}

    /// Appends `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) { self.bytes.append(contentsOf: bytes) }

    /// Appends `string` as UTF-8 (`TextOutputStream`).
    public func write(_ string: String) { bytes.append(contentsOf: string.utf8) }

    /// The bytes as UTF-8 text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// The two streams a command writes to, and the global flags it runs under.
struct Console {
    let out: any OutputSink
    let err: any OutputSink
    /// `--debug`: log engine diagnostics to syslog, as blktap's libvhd does at log level 1.
    let debug: Bool
    /// `--json`, on the commands that support it.
    var json = false

    /// Prints `line` and a newline on standard output.
    func print(_ line: String) { out.write(line + "\n") }

    /// Prints `line` and a newline on standard error.
    func printError(_ line: String) { err.write(line + "\n") }

    /// Logs an engine error's full description to syslog when `--debug` is on.
    func log(_ error: some Error) {
        guard debug else { return }
        let message = "vhd-util: \(error)"
        message.withCString { text in
            withVaList([text]) { vsyslog(LOG_INFO, "%s", $0) }
        }
    }
}
