import BlockIO
import NBD
import VHD

/// Opens what a path names as an NBD export: a `*.vhd` as its chain (parents resolved from the
/// leaf's locators, confined to the leaf's directory, as an SR keeps a chain in one directory),
/// anything else (a `*.raw` file, a block device) as a raw store.
public struct PathExportSource: ExportSource {
    public init() {}

    public var name: String { "paths" }

    /// The export for `path`; `readOnly` opens every file read-only. Parents of a VHD that
    /// `previous` (the export being replaced) already has open, and that no one changed since,
    /// are reused rather than read again (`Chain.open(leaf:resolver:reusing:)`).
    public func open(_ path: String, readOnly: Bool, previous: (any NBDExport)? = nil) throws(DatapathError)
        -> any NBDExport
    {
        guard !path.isEmpty else { throw .openFailed(path: path, message: "empty path") }
        let store: FileBlockStore
        do {
            store = try FileBlockStore(path: path, readOnly: readOnly)
        } catch {
            throw .openFailed(path: path, message: error.description)
        }
        guard Self.isVHD(path) else { return StoreExport(store: store, readOnly: readOnly) }
        let directory = FileParentResolver.directory(of: FileParentResolver.canonicalPath(path) ?? path)
        return try Self.chainExport(
            leaf: store, name: path, resolver: FileParentResolver(confinement: directory), readOnly: readOnly,
            previous: previous)
    }

    /// A VHD leaf on `leaf` and the parents `resolver` finds, as one export.
    public static func chainExport(
        leaf: any BlockStore, name: String, resolver: any ParentResolver, readOnly: Bool, previous: (any NBDExport)?
    ) throws(DatapathError) -> any NBDExport {
        do {
            let image = try Image.open(store: leaf, name: name, options: readOnly ? .readOnly : .readWrite)
            let reusable = (previous as? ChainExport)?.layers ?? []
            let chain = try Chain.open(leaf: image, resolver: resolver, reusing: reusable)
            return ChainExport(chain: chain, readOnly: readOnly)
        } catch {
            throw .openFailed(path: name, message: error.description)
        }
    }

    /// Whether `path` names a VHD (by its extension, as SM names volumes).
    public static func isVHD(_ path: String) -> Bool {
        path.lowercased().hasSuffix(".vhd")
    }
}
