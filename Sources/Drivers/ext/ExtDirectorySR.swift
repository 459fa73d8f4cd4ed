import Glibc
import SM

/// An ext SR in an existing directory (`device-config:path`): the SR is `<path>/<sr_uuid>`.
/// Nothing is mounted, so attach and detach only check, and no root is needed.
struct ExtDirectorySR: Sendable {
    /// The directory given as `device-config:path`.
    let parent: String

    func root(of srUUID: String) -> String { parent + "/" + srUUID }

    /// Makes `<path>/<sr_uuid>` (FileSR's create), owner-only (0700) like EXTSR's mount point:
    /// `FileSRCreate` (61) when `<path>` is not a directory or the new one cannot be made,
    /// `SRExists` (42) when it exists and is not empty.
    func create(srUUID: String) throws(SRError) -> SRStorage {
        guard ExtFiles.isDirectory(parent) else {
            throw SRError(.fileSRCreate, opterr: "\(parent) is not an existing directory")
        }
        let root = root(of: srUUID)
        if mkdir(root, 0o700) != 0 {
            let failure = errno
            guard failure == EEXIST, ExtFiles.isDirectory(root) else {
                throw SRError(
                    .fileSRCreate, opterr: "directory creation failure \(root): \(String(cString: strerror(failure)))")
            }
            guard ExtFiles.entries(root).isEmpty else { throw SRError(.srExists, opterr: "\(root) is not empty") }
        }
        try ExtFiles.restrictToOwner(root, code: .fileSRCreate)
        return .directory(root)
    }

    /// `SRUnavailable` (47) when the SR's directory is missing (FileSR's attach).
    func storage(srUUID: String) throws(SRError) -> SRStorage {
        let root = root(of: srUUID)
        guard ExtFiles.isDirectory(root) else { throw SRError(.srUnavailable, opterr: "no such directory \(root)") }
        return .directory(root)
    }

    /// Removes the SR's remaining files and its directory.
    func delete(srUUID: String) throws(SRError) {
        let root = try storage(srUUID: srUUID).container.name
        try ExtFiles.removeFiles(in: root)
        guard rmdir(root) == 0 || errno == ENOENT else {
            throw SRError(.fileSRRmDir, opterr: "\(root): \(ExtFiles.errorText())")
        }
    }

    /// Every SR directory under `<path>`: uuid-named directories holding SR metadata whose SR
    /// uuid is the directory's name.
    func probe(includeMetadata: Bool) throws(SRError) -> [ProbeXML.SREntry] {
        guard ExtFiles.isDirectory(parent) else {
            throw SRError(.configDeviceInvalid, opterr: "\(parent) is not an existing directory")
        }
        let size = String(ExtFiles.fileSystemSize(parent))
        return ExtFiles.entries(parent).compactMap { name in
            guard Identifier.isUUID(name), ExtFiles.isDirectory(root(of: name)),
                let metadata = try? SRStorage.directory(root(of: name)).metadataStore.load(), metadata.sr.uuid == name
            else { return nil }
            return ExtProbeEntry.entry(
                uuid: name, devices: parent, size: size, sr: includeMetadata ? metadata.sr : nil,
                includeMetadata: includeMetadata)
        }
    }
}

/// Building the `<SR>` entries of the ext probe (`lvutil.srlist_toxml`'s shape).
enum ExtProbeEntry {
    /// `UUID`, `Devlist`, `size`, and with `includeMetadata` the SR's `name_label`,
    /// `name_description` and `pool_metadata_detected` (always `false`: this SM keeps no pool
    /// metadata VDI).
    static func entry(uuid: String, devices: String, size: String, sr: SRRecord?, includeMetadata: Bool)
        -> ProbeXML.SREntry
    {
        var fields: [(name: String, text: String)] = [("UUID", uuid), ("Devlist", devices), ("size", size)]
        if includeMetadata {
            fields += [
                ("name_label", sr?.nameLabel ?? ""), ("name_description", sr?.nameDescription ?? ""),
                ("pool_metadata_detected", "false"),
            ]
        }
        return ProbeXML.SREntry(fields)
    }
}
