import DatapathBackend
import SM

/// The block backend both fronts hand VDIs out through: the NBD datapath (`sm-datapathd`),
/// or with `SM_BLOCK_BACKEND=path` the leaf's path and no daemon (a consumer that opens VHD
/// chains itself, such as qemu's `vpc` driver). `SM_DATAPATH_TIMEOUT` bounds every wait on a
/// daemon (`DatapathTimeout`).
public enum BlockBackends {
    public static func forHost(paths: HostPaths, environment: [String: String] = HostPaths.processEnvironment())
        -> any BlockBackend
    {
        if environment["SM_BLOCK_BACKEND"] == "path" { return PathBlockBackend(refcounts: paths.refcounts) }
        return NBDBlockBackend(paths: paths, timeout: DatapathTimeout.seconds(from: environment))
    }
}
