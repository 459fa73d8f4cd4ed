import Glibc

/// The files through which processes on this host talk to an SR's running collector (the
/// reference's IPC flags `/var/run/sm/ipc/<sr_uuid>/abort`): `<state>/gc/<sr_uuid>/abort` asks
/// it to stop, `kick` asks it to look again before it exits (a second kick while one runs).
public struct CollectorFlags: Sendable {
    public let directory: String

    public init(paths: HostPaths, srUUID: String) {
        directory = "\(paths.stateDirectory)/gc/\(srUUID)"
    }

    public var abort: String { directory + "/abort" }
    public var kick: String { directory + "/kick" }

    /// Creates the flag file `path`.
    public func raise(_ path: String) throws(SRError) {
        try SystemCall.makeDirectories(directory, code: .smGeneral)
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw SRError(.smGeneral, opterr: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        SystemCall.close(descriptor)
    }

    public func lower(_ path: String) { unlink(path) }

    public func isRaised(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
