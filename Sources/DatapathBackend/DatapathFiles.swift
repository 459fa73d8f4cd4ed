import Glibc
import SM

/// The files of one VDI's datapath daemon, all under the host's datapath directory and named
/// by the VDI's uuid (VDI uuids are unique across SRs): the NBD socket consumers connect to,
/// the control socket SM drives it through, its pid file, its log, and the SR it serves for.
public struct DatapathFiles: Sendable, Hashable {
    public let directory: String
    public let vdiUUID: String

    public init(directory: String, vdiUUID: String) {
        self.directory = directory
        self.vdiUUID = vdiUUID
    }

    public var socket: String { path("sock") }
    public var control: String { path("control") }
    public var pidFile: String { path("pid") }
    public var log: String { path("log") }
    /// Holds the uuid of the SR the VDI belongs to, so an SR's daemons can be found.
    public var srFile: String { path("sr") }

    /// The consumer's NBD URI, as blktap's `params_nbd`.
    public var uri: String { "nbd:unix:\(socket):exportname=\(vdiUUID)" }

    private func path(_ suffix: String) -> String { directory + "/" + vdiUUID + "." + suffix }

    /// Every file but the log, which is kept for whoever investigates a daemon that died.
    var runtimeFiles: [String] { [socket, control, pidFile, srFile] }

    /// The VDIs that have daemon files in `directory` for SR `srUUID`.
    static func all(in directory: String, srUUID: String) -> [DatapathFiles] {
        let names = (try? SystemCall.directoryEntries(directory)) ?? []
        return names.filter { $0.hasSuffix(".sr") }
            .map { DatapathFiles(directory: directory, vdiUUID: String($0.dropLast(3))) }
            .filter { TextFile.read($0.srFile) == srUUID }
    }
}

/// Small whole-file reads and writes for the daemon's bookkeeping files.
enum TextFile {
    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return "" }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }

    /// Replaces `path`'s content with `text` and a newline; the file is owner-only (0600)
    /// whatever the umask, as every file SM keeps.
    static func write(_ text: String, to path: String) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        guard fchmod(descriptor, 0o600) == 0 else { return false }
        let bytes = Array((text + "\n").utf8)
        return bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) } == bytes.count
    }
}
