import BlockIO
import Glibc
import VHDFormat

/// Finds and opens a differencing disk's parent. The file-system resolver reads blktap's
/// locators relative to the child's directory; the LVM driver will resolve by LV name.
public protocol ParentResolver: Sendable {
    /// Resolves `reference` (a locator path such as `./base.vhd`) seen from `child`, returning
    /// the parent's canonical name (used to detect cycles) and its store.
    func openParent(_ reference: String, of child: String, writable: Bool) throws(VHDError)
        -> (name: String, store: any BlockStore)
}

/// Resolves locator paths against the child's directory, as blktap's `vhd_parent_locator_get`
/// does, optionally confined to one directory tree so a hostile image cannot name a parent
/// outside its storage repository.
public struct FileParentResolver: ParentResolver {
    /// When set, parents must resolve inside this directory.
    public var confinement: String?

    public init(confinement: String? = nil) { self.confinement = confinement }

    public func openParent(_ reference: String, of child: String, writable: Bool) throws(VHDError)
        -> (name: String, store: any BlockStore)
    {
        let path = try resolvePath(reference, of: child)
        do {
            return (path, try FileBlockStore(path: path, readOnly: !writable))
        } catch {
            if case .system(_, 2, _) = error { throw .notFound(path: path) }
            throw .io(error)
        }
    }

    /// The canonical path `reference` names, seen from `child`.
    public func resolvePath(_ reference: String, of child: String) throws(VHDError) -> String {
        guard !reference.isEmpty, reference.utf8.count < Int(PATH_MAX), !reference.utf8.contains(0) else {
            throw .forbiddenParentPath(image: child, path: reference, reason: "empty or malformed")
        }
        let joined = reference.hasPrefix("/") ? reference : Self.directory(of: child) + "/" + reference
        // Confinement is judged twice: on the path as written (so a refusal never depends on,
        // or reveals, what exists outside the root), then on the real path (symbolic links).
        let root = confinement.map { Self.canonicalPath($0) ?? Self.lexicallyNormalized($0) }
        if let root, !Self.isInside(Self.lexicallyNormalized(Self.absolute(joined)), root: root) {
            throw .forbiddenParentPath(image: child, path: reference, reason: "outside \(root)")
        }
        guard let canonical = Self.canonicalPath(joined) else { throw .notFound(path: joined) }
        if let root, !Self.isInside(canonical, root: root) {
            throw .forbiddenParentPath(image: child, path: reference, reason: "outside \(root)")
        }
        return canonical
    }

    static func isInside(_ path: String, root: String) -> Bool {
        path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    /// `path` made absolute against the working directory (`getcwd`), textually.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return "/" + path }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + path
    }

    /// `path` with `.`, `..` and repeated slashes resolved textually, without the file system.
    static func lexicallyNormalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The directory part of `path` ("." when it has none).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `realpath(3)`: the absolute path with links and `..` resolved; nil when it does not exist.
    public static func canonicalPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
