import NBD

/// Where a daemon opens its exports from: the seam between serving NBD and finding volumes.
/// A daemon started for an SR opens the leaf's volume and its chain through the SR's driver
/// and container (`ContainerExportSource` in DatapathBackend); one started with `--export`
/// opens paths (`PathExportSource`).
public protocol ExportSource: Sendable {
    /// Names the source in the log (an SR, the file system).
    var name: String { get }
    /// Opens `leaf` (a volume name, or a path) as an export; `previous` is the export being
    /// replaced, whose unchanged parents may be reused.
    ///
    /// - Throws: `DatapathError.openFailed` naming the leaf and what was wrong with it.
    func open(_ leaf: String, readOnly: Bool, previous: (any NBDExport)?) throws(DatapathError) -> any NBDExport
}
