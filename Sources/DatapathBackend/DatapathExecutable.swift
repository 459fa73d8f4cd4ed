import Glibc

/// Finding `sm-datapathd`: `SM_DATAPATHD` when set, else beside the running executable (the
/// build directory, or wherever `sm` was installed with it), else on `PATH`.
public enum DatapathExecutable {
    public static let name = "sm-datapathd"

    public static func locate() -> String? {
        if let explicit = getenv("SM_DATAPATHD").map({ String(cString: $0) }), !explicit.isEmpty {
            return explicit
        }
        if let own = ownExecutable() {
            let directory = own.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            let beside = directory + "/" + name
            if access(beside, X_OK) == 0 { return beside }
        }
        let searchPath = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in searchPath.split(separator: ":") {
            let candidate = directory + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// This process's executable (`/proc/self/exe`): for `sm`, the binary behind any plugin link.
    public static func ownExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
