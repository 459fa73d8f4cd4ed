import BlockIO
import NBD
import VHD

/// Opens what a path names as an NBD export: a `*.vhd` as its chain (parents resolved from the
/// leaf's locators, confined to the leaf's directory, as an SR keeps a chain in one directory),
/// anything else (a `*.raw` file, a block device) as a raw store.
public enum ExportOpener {
    /// The export for `path`; `readOnly` opens every file read-only. Parents of a VHD that
    /// `previous` (the export being replaced) already has open, and that no one changed since,
    /// are reused rather than read again (`Chain.open(leaf:resolver:reusing:)`).
    ///
    /// - Throws: `DatapathError.openFailed` naming the path and what was wrong with it.
    public static func open(path: String, readOnly: Bool, previous: (any NBDExport)? = nil) throws(DatapathError)
        -> any NBDExport
    {
        guard !path.isEmpty else { throw .openFailed(path: path, message: "empty path") }
        let store: FileBlockStore
        do {
            store = try FileBlockStore(path: path, readOnly: readOnly)
        } catch {
            throw .openFailed(path: path, message: error.description)
        }
        guard isVHD(path) else { return StoreExport(store: store, readOnly: readOnly) }
        do {
            let leaf = try Image.open(store: store, name: path, options: readOnly ? .readOnly : .readWrite)
            let directory = FileParentResolver.directory(of: FileParentResolver.canonicalPath(path) ?? path)
            let reusable = (previous as? ChainExport)?.layers ?? []
            let chain = try Chain.open(leaf: leaf, resolver: FileParentResolver(confinement: directory), reusing: reusable)
            return ChainExport(chain: chain, readOnly: readOnly)
        } catch {
            throw .openFailed(path: path, message: error.description)
        }
    }

    /// Whether `path` names a VHD (by its extension, as SM names volumes).
    public static func isVHD(_ path: String) -> Bool {
        path.lowercased().hasSuffix(".vhd")
    }
}
