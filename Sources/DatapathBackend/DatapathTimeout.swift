import SM

/// How long SM waits on a datapath daemon: for each control call (to accept the connection,
/// then to take the request and answer it) and for each stage of stopping one. A daemon that
/// is stopped, wedged in I/O or stuck fails the call with `TapdiskFailed` in that time instead
/// of holding the SR lock while the caller waits.
public enum DatapathTimeout {
    /// The environment variable that sets it, in seconds (fractions allowed).
    public static let variable = "SM_DATAPATH_TIMEOUT"
    /// Seconds when the variable is unset or not a positive number: ample for a healthy daemon
    /// to drain and flush a pause, short against the toolstack's own timeouts.
    public static let defaultSeconds: Double = 5

    /// The timeout `environment` sets, else `defaultSeconds`.
    public static func seconds(from environment: [String: String] = HostPaths.processEnvironment()) -> Double {
        guard let text = environment[variable], let seconds = Double(text), seconds.isFinite, seconds > 0 else {
            return defaultSeconds
        }
        return seconds
    }
}
