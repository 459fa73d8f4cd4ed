import Glibc
import Datapath
import SM

/// The files of one VDI's datapath daemon, all under the host's datapath directory and named
/// by the VDI's uuid (VDI uuids are unique across SRs): the NBD socket consumers connect to,
/// the control socket SM drives it through, its pid file, its log, and the descriptor of the SR
/// it serves (`SRDescriptor`).
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
    /// The descriptor of the SR the VDI belongs to (mode 0600): how the daemon opens the SR,
    /// and how an SR's daemons are found.
    public var srFile: String { path("sr") }

    /// The consumer's NBD URI, as blktap's `params_nbd`.
    public var uri: String { "nbd:unix:\(socket):exportname=\(vdiUUID)" }

    private func path(_ suffix: String) -> String { directory + "/" + vdiUUID + "." + suffix }

    /// Every file but the log, which is kept for whoever investigates a daemon that died.
    var runtimeFiles: [String] { [socket, control, pidFile, srFile] }

    /// Creates the directory (missing parents 0755, itself 0700), so no other user can even
    /// look a socket up in it. An existing one with a looser mode is tightened when it holds
    /// nothing but daemon files (ours, made before sockets were private); any other (a shared
    /// directory an administrator chose) is left as it is, its sockets being 0600 anyway.
    func prepareDirectory() throws(SRError) {
        let parent = directory.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            .joined(separator: "/")
        if !parent.isEmpty { try SystemCall.makeDirectories(parent, code: .tapdiskFailed) }
        if mkdir(directory, 0o700) == 0 { return }
        let mkdirErrno = errno
        var info = stat()
        guard mkdirErrno == EEXIST, stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw SRError(.tapdiskFailed, opterr: "mkdir \(directory): \(String(cString: strerror(mkdirErrno)))")
        }
        guard info.st_mode & 0o077 != 0, info.st_uid == geteuid() else { return }
        let names = (try? SystemCall.directoryEntries(directory)) ?? []
        let daemonSuffixes = [".sock", ".control", ".pid", ".pid.tmp", ".log", ".sr"]
        guard names.allSatisfy({ name in daemonSuffixes.contains { name.hasSuffix($0) } }) else { return }
        guard chmod(directory, 0o700) == 0 else {
            throw SRError(.tapdiskFailed, opterr: "chmod \(directory): \(String(cString: strerror(errno)))")
        }
    }

    /// The VDIs that have daemon files in `directory` for SR `srUUID`.
    static func all(in directory: String, srUUID: String) -> [DatapathFiles] {
        let names = (try? SystemCall.directoryEntries(directory)) ?? []
        return names.filter { $0.hasSuffix(".sr") }
            .map { DatapathFiles(directory: directory, vdiUUID: String($0.dropLast(3))) }
            .filter { (try? SRDescriptor.read(from: $0.srFile))?.srUUID == srUUID }
    }
}

/// Appends to the daemon's log, whoever holds it open.
enum TextFile {
    /// Appends `text` and a newline, creating the file (mode 0600) if need be.
    static func append(_ text: String, to path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let bytes = Array((text + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
    }
}
