import ExtDriver
import SM

/// The drivers this build serves, by SR type: one registry for `sm` (both fronts) and for
/// `sm-datapathd`, which opens the SR it serves through the same driver.
public enum SMDrivers {
    /// Every driver, with the host's paths.
    public static func all(paths: HostPaths = .fromEnvironment()) -> [any SRDriver] {
        [ExtDriver.fromEnvironment(paths)]
    }

    /// The driver of SR type `type` (`ext`), nil when none serves it.
    public static func driver(forType type: String, paths: HostPaths = .fromEnvironment()) -> (any SRDriver)? {
        all(paths: paths).first { $0.typeName == type }
    }
}
