import Glibc

/// Reads of the datapath's bookkeeping files (pid files, `.sr` files): a few bytes each, so a
/// read is bounded and never waits. A FIFO, device or huge file in one's place reads as absent.
public enum SmallFile {
    /// The first `limit` bytes of the regular file at `path`, or nil when it is missing, not a
    /// regular file, or longer. The corresponding C functions are `open` (non-blocking),
    /// `fstat` and `read`.
    public static func read(_ path: String, limit: Int = 4096) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, status.st_size <= limit else {
            return nil
        }
        var buffer = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count <= limit {
            let got = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + count, $0.count - count) }
            if got > 0 {
                count += got
            } else if got == 0 {
                break
            } else if errno != EINTR {
                return nil
            }
        }
        return count > limit ? nil : Array(buffer[0..<count])
    }
}
