import BlockIO
import Datapath
import NBD
import SM

/// Exports opened from the volumes of one SR's container: the leaf by its volume name, its
/// parents by the container's parent resolver. Nothing here needs a path, so a daemon serves
/// VDIs whose volumes are files, LVs, or files on an NFS export reached in user space.
public struct ContainerExportSource: ExportSource {
    public let container: any VolumeContainer

    public init(container: any VolumeContainer) { self.container = container }

    public var name: String { container.name }

    public func open(_ volume: String, readOnly: Bool, previous: (any NBDExport)?) throws(DatapathError)
        -> any NBDExport
    {
        guard let vdi = container.naming.vdi(of: volume) else {
            throw .openFailed(path: volume, message: "not a VDI volume of \(container.name)")
        }
        let store: any BlockStore
        do { store = try container.open(volume, writable: !readOnly) } catch {
            throw .openFailed(path: volume, message: error.description)
        }
        guard vdi.type == .vhd else { return StoreExport(store: store, readOnly: readOnly) }
        return try PathExportSource.chainExport(
            leaf: store, name: volume, resolver: container.parentResolver, readOnly: readOnly, previous: previous)
    }
}

extension ContainerExportSource {
    /// The source for the SR a descriptor file describes, opened through the driver of its
    /// type among `drivers`; the SR must be attached on this host and be the one described
    /// (its metadata names the descriptor's SR uuid).
    ///
    /// - Throws: `DatapathError.openFailed` naming the descriptor and what went wrong.
    public static func forSR(descriptorPath: String, drivers: [any SRDriver]) throws(DatapathError)
        -> ContainerExportSource
    {
        do throws(SRError) {
            let descriptor = try SRDescriptor.read(from: descriptorPath)
            guard let driver = drivers.first(where: { $0.typeName == descriptor.type }) else {
                let known = drivers.map(\.typeName).joined(separator: ", ")
                throw SRError(.invalidArg, opterr: "no driver for SR type '\(descriptor.type)' (known: \(known))")
            }
            let storage = try driver.storage(srUUID: descriptor.srUUID, deviceConfig: descriptor.deviceConfig)
            let found = try storage.metadataStore.load().sr.uuid
            guard found == descriptor.srUUID else {
                throw SRError(.srUnavailable, opterr: "\(storage.container.name) holds SR \(found), not \(descriptor.srUUID)")
            }
            return ContainerExportSource(container: storage.container)
        } catch {
            throw .openFailed(path: descriptorPath, message: error.faultString)
        }
    }
}
