/// An export named on the daemon's command line: `NAME=PATH` or `NAME=PATH:ro`.
public struct ExportSpec: Sendable, Equatable, CustomStringConvertible {
    /// The export name clients ask for (the VDI uuid).
    public var name: String
    /// The volume: a `*.vhd` leaf, a `*.raw` file or a block device.
    public var path: String
    public var readOnly: Bool

    public init(name: String, path: String, readOnly: Bool = false) {
        self.name = name
        self.path = path
        self.readOnly = readOnly
    }

    /// Parses `NAME=PATH[:ro]`; the name ends at the first `=`, and a trailing `:ro` marks it
    /// read-only (a path that itself ends in `:ro` cannot be named).
    ///
    /// - Throws: `DatapathError.usage` naming the argument.
    public init(parsing argument: String) throws(DatapathError) {
        guard let equals = argument.firstIndex(of: "=") else {
            throw .usage("--export \(argument): expected NAME=PATH[:ro]")
        }
        name = String(argument[..<equals])
        var rest = String(argument[argument.index(after: equals)...])
        readOnly = rest.hasSuffix(":ro")
        if readOnly { rest.removeLast(3) }
        path = rest
        guard !name.isEmpty, !path.isEmpty else { throw .usage("--export \(argument): empty name or path") }
        guard name.utf8.count <= 4096 else { throw .usage("--export: a name is at most 4096 bytes (NBD)") }
    }

    /// The command-line form, `NAME=PATH[:ro]`.
    public var description: String { "\(name)=\(path)\(readOnly ? ":ro" : "")" }
}
