import BlockIO

/// Opening image files for the file-level operations (the `vhd-util` verbs).
enum FileAccess {
    static func store(_ path: String, writable: Bool) throws(VHDError) -> FileBlockStore {
        do { return try FileBlockStore(path: path, readOnly: !writable) } catch {
            if case .system(_, 2, _) = error { throw .notFound(path: path) }
            throw .io(error)
        }
    }

    static func image(_ path: String, writable: Bool, ignoreDisabled: Bool = false) throws(VHDError) -> Image {
        try Image.open(path: path, options: Image.OpenOptions(writable: writable, ignoreDisabled: ignoreDisabled))
    }
}
