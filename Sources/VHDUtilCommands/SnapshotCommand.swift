import VHD

/// `vhd-util snapshot -n CHILD -p PARENT [-l LIMIT] [-m] [-S MiB] [-e]`: a differencing disk over
/// PARENT (or, with `-m`, over a raw file), skipping empty differencing parents unless `-e`.
struct SnapshotCommand: Subcommand {
    static let name = "snapshot"
    static let optionString = "n:p:S:l:meh"
    static let usage = Usage.snapshot

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var path: String?
        var parent: String?
        var metadataSize: UInt64 = 0
        var limit = 0
        var settings = Snapshot.Options()
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("n", let value): path = value
            case .option("p", let value): parent = value
            case .option("S", let value?): metadataSize = CFormat.strtoull(value)
            case .option("l", let value?): limit = CFormat.strtol(value)
            case .option("m", _): settings.parentIsRaw = true
            case .option("e", _): settings.linkEmptyParent = true
            case .option("h", _): return usage(console, status: 0)
            default: return usage(console, status: Errno.invalid)
            }
        }
        guard let path, let parent, getopt.operands.isEmpty else { return usage(console, status: Errno.invalid) }
        guard FileParentResolver.canonicalPath(parent) != nil else { return Errno.noEntry }
        if limit != 0 && !settings.parentIsRaw { settings.depthLimit = limit }
        if metadataSize != 0 { settings.preallocatedSize = metadataSize &<< 20 }
        do {
            _ = try Snapshot.file(at: path, parent: parent, options: settings)
            return 0
        } catch {
            console.log(error)
            if case .chainTooDeep(_, let depth, let limit) = error {
                console.print("snapshot depth exceeded: current depth: \(depth), limit: \(limit)")
            }
            return error.errno
        }
    }
}
