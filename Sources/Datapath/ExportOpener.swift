import BlockIO
import NBD
import VHD

/// Opens what a path names as an NBD export: a `*.vhd` as its chain (parents resolved from the
/// leaf's locators, confined to the leaf's directory, as an SR keeps a chain in one directory),
/// anything else (a `*.raw` file, a block device) as a raw store.
public enum ExportOpener {
    /// The export for `path`; `readOnly` opens every file read-only.
    ///
    /// - Throws: `DatapathError.openFailed` naming the path and what was wrong with it.
    public static func open(path: String, readOnly: Bool) throws(DatapathError) -> any NBDExport {
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
            let chain = try Chain.open(leaf: leaf, resolver: FileParentResolver(confinement: directory))
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
