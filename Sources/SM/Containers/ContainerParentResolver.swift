import BlockIO
import VHD

/// Resolves a VHD's parent locator to a volume of the same container: the locator must name
/// a volume directly (`./<name>` or `<name>`), so no image inside an SR can reach outside it.
public struct ContainerParentResolver: ParentResolver {
    public let container: any VolumeContainer

    public init(container: any VolumeContainer) { self.container = container }

    public func openParent(_ reference: String, of child: String, writable: Bool) throws(VHDError)
        -> (name: String, store: any BlockStore)
    {
        let name = reference.hasPrefix("./") ? String(reference.dropFirst(2)) : reference
        guard !name.isEmpty, !name.contains("/"), name != "..", name != "." else {
            throw .forbiddenParentPath(image: child, path: reference, reason: "not a volume of \(container.name)")
        }
        do { return (name, try container.open(name, writable: writable)) } catch {
            switch error {
            case .notFound: throw .notFound(path: "\(container.name)/\(name)")
            case .invalidName: throw .forbiddenParentPath(image: child, path: reference, reason: error.description)
            case .io(_, _, let cause): throw .io(cause)
            default: throw .invalidArgument(error.description)
            }
        }
    }
}
