import Glibc
import Synchronization
import VHD
import VHDFormat

/// `vhd-util scan [-m GLOB] [-f] [-c] [-l VG] [-p] [-a] [-v] [-M] [FILES…]`: one line per image
/// (size, hidden flag, parent), or a tree with `-p`. LVM volume groups (`-l`) are not supported yet.
struct ScanCommand: Subcommand {
    static let name = "scan"
    static let optionString = "m:fcl:pavMh"
    static let usage = Usage.scan
    static let supportsJSON = true

    var filter: String?
    var fast = false
    var continueOnFailure = false
    var volumeGroup: String?
    var pretty = false
    var addParents = false
    var verbose = false
    var markers = false

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var scan = ScanCommand()
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("m", let value): scan.filter = value
            case .option("f", _): scan.fast = true
            case .option("c", _): scan.continueOnFailure = true
            case .option("l", let value): scan.volumeGroup = value
            case .option("p", _): scan.pretty = true
            case .option("a", _): scan.addParents = true
            case .option("v", _): scan.verbose = true
            case .option("M", _): scan.markers = true
            case .option("h", _): return usage(console, status: 0)
            default: return usage(console, status: Errno.invalid)
            }
        }
        if scan.filter == nil && getopt.operands.isEmpty { return usage(console, status: Errno.invalid) }
        if let group = scan.volumeGroup {
            console.printError("scan: LVM scanning is not yet supported (-l \(group))")
            return Errno.notImplemented
        }
        if scan.pretty { scan.fast = false }
        var report = Report(scan: scan)
        let status = scan.run(files: getopt.operands, into: &report, console)
        if console.json {
            console.print(report.json.rendered)
        } else {
            for line in report.lines { console.print(line) }
        }
        return status
    }

    /// A file to scan (blktap's `struct target`).
    struct Target {
        enum Kind { case vhd, raw, none }
        var name: String
        var size: UInt64
        var kind: Kind

        /// A target whose `stat` failed under `-c`: blktap scans it as a zeroed entry.
        static let empty = Target(name: "", size: 0, kind: .none)
    }

    /// One scanned image (blktap's `struct vhd_image`).
    struct ScannedImage {
        var name: String
        var parent: String?
        var capacity: UInt64 = 0
        var size: UInt64 = 0
        var hidden: UInt8 = 0
        var marker: UInt8 = 0
        var keyHash: Image.Libvhd.KeyHash?
        var error: (errno: Int32, message: String)?
        /// Whether the parent was found among the scanned images (pretty mode).
        var parentFound = true
    }

    /// Finds the targets: glob matches first, then the named files. A failure is recorded in
    /// `report` and returned as a positive errno.
    func discoverTargets(files: [String], into report: inout Report) -> (targets: [Target], status: Int32) {
        var targets: [Target] = []
        var paths: [String] = []
        if let filter {
            switch Self.glob(filter, sorted: !fast) {
            case .success(let matches): paths = matches
            case .failure(let failure):
                for (directory, code) in failure.directoryErrors {
                    report.error(directory, code, "failure scanning target")
                }
                report.error(filter, -failure.errno, "failure scanning target")
                return ([], failure.errno)
            }
        }
        for path in paths + files {
            var info = stat()
            if stat(path, &info) != 0 {
                let code = errno
                report.error(path, -code, "failure scanning target")
                if !continueOnFailure { return ([], code) }
                targets.append(.empty)
                continue
            }
            targets.append(Target(name: path, size: UInt64(info.st_size), kind: .vhd))
        }
        return (targets, 0)
    }

    struct GlobFailure: Error {
        var errno: Int32
        /// Directories glob could not read, with their (positive) errno, from its error callback.
        var directoryErrors: [(String, Int32)]
    }

    /// Serialises `glob(3)` calls, whose error callback cannot carry context.
    private static let globLock = Mutex<Void>(())
    private static let globErrors = Mutex<[(String, Int32)]>([])

    /// `glob(3)` with `GLOB_BRACE` (and `GLOB_NOSORT` unless `sorted`), blktap's error mapping:
    /// an unreadable directory aborts (`-EIO`), no match is success (unless errno was set).
    /// The corresponding C function is `glob`.
    static func glob(_ pattern: String, sorted: Bool) -> Result<[String], GlobFailure> {
        globLock.withLock { _ in
            globErrors.withLock { $0 = [] }
            var matches = glob_t()
            defer { globfree(&matches) }
            let flags = Int32(GLOB_BRACE) | (sorted ? 0 : Int32(GLOB_NOSORT))
            errno = 0
            let status = Glibc.glob(
                pattern, flags,
                { path, code in
                    let directory = path.map { String(cString: $0) } ?? ""
                    ScanCommand.globErrors.withLock { $0.append((directory, code)) }
                    return code == 0 ? 1 : code
                }, &matches)
            let savedErrno = errno
            let directoryErrors = globErrors.withLock { $0 }
            var code: Int32 = 0
            switch status {
            case 0: break
            case GLOB_NOSPACE: code = Errno.noMemory
            case GLOB_ABORTED: code = Errno.io
            case GLOB_NOMATCH: code = savedErrno
            default: code = Errno.invalid
            }
            if code != 0 { return .failure(GlobFailure(errno: code, directoryErrors: directoryErrors)) }
            var paths: [String] = []
            if status == 0, let list = matches.gl_pathv {
                for index in 0..<Int(matches.gl_pathc) {
                    if let entry = list[index] { paths.append(String(cString: entry)) }
                }
            }
            return .success(paths)
        }
    }

    /// Scans every target (and, with `-a`, the parents found), recording lines in `report`.
    func run(files: [String], into report: inout Report, _ console: Console) -> Int32 {
        let (found, discoveryStatus) = discoverTargets(files: files, into: &report)
        if discoveryStatus != 0 {
            console.printError("scan failed: -\(discoveryStatus). Check syslog for details")
            return discoveryStatus
        }
        var targets = found
        if targets.isEmpty { return 0 }
        var status: Int32 = 0
        var index = 0
        while index < targets.count {
            let target = targets[index]
            index += 1
            let (image, opened) = scan(target, console)
            report.add(image)
            if addParents, let parent = image.parent {
                let kind: Target.Kind = opened?.hasRawParent == true ? .raw : .vhd
                if let failure = addParent(parent, kind: kind, to: &targets) {
                    report.error(parent, -failure, "failure scanning target")
                }
            }
            status = image.error.map { -$0.errno } ?? 0
            if status != 0 && !continueOnFailure { break }
        }
        report.finish()
        return continueOnFailure ? 0 : status
    }

    /// blktap's `iterator_add_file`: a parent is added unless a target with the same base name
    /// exists; returns the errno when it cannot be stat'ed.
    func addParent(_ parent: String, kind: Target.Kind, to targets: inout [Target]) -> Int32? {
        let base = CFormat.basename(parent)
        if targets.contains(where: { CFormat.basename($0.name) == base }) { return nil }
        var info = stat()
        guard stat(parent, &info) == 0 else { return errno }
        targets.append(Target(name: parent, size: UInt64(info.st_size), kind: kind))
        return nil
    }

    /// Scans one target, returning what was found and, for a VHD that opened, the image.
    func scan(_ target: Target, _ console: Console) -> (ScannedImage, Image.Libvhd?) {
        var image = ScannedImage(name: target.name)
        if pretty {
            guard let canonical = FileParentResolver.canonicalPath(target.name) else {
                image.error = (-errno, "resolving name")
                return (image, nil)
            }
            image.name = canonical
        }
        guard target.kind == .vhd else {
            image.size = target.size
            image.capacity = target.size
            image.hidden = 1
            return (image, nil)
        }
        let opened: Image.Libvhd
        do { opened = try Image.open(path: image.name, options: .libvhd(fast: fast)).libvhd } catch {
            console.log(error)
            image.error = (-error.errno, "opening file")
            return (image, nil)
        }
        image.size = target.size
        image.capacity = opened.footer.currentSize
        do { image.hidden = UInt8(bitPattern: try opened.hidden()) } catch {
            image.error = (-error.errno, "checking 'hidden' field")
            return (image, opened)
        }
        if markers {
            do {
                image.marker = UInt8(bitPattern: try opened.marker())
                image.keyHash = try opened.keyHash()
            } catch {
                image.error = (-error.errno, "checking markers")
                return (image, opened)
            }
        }
        if opened.isDifferencing {
            do { image.parent = try parent(of: opened) } catch {
                image.error = (-error.errno, "getting parent")
            }
        }
        return (image, opened)
    }

    /// blktap's `vhd_util_scan_get_parent`: with `-f` the header's parent name; otherwise the
    /// resolved locator; failing that, the raw string of the preferred locator.
    func parent(of image: Image.Libvhd) throws(VHDError) -> String {
        guard let header = image.header else { throw .invalid(image: image.path, problem: "no header") }
        if fast, let name = Image.Libvhd.decodeParentName(header: header, footer: image.footer) { return name }
        if !fast, let resolved = try? image.parentPath() { return resolved }
        // blktap's `vhd_util_scan_get_parent_locator`: the first MacX, else the last W2ru, else
        // the first locator in use.
        var chosen: ParentLocator?
        for locator in header.locators {
            if locator.platformCode == .macX {
                chosen = locator
                break
            }
            if locator.platformCode == .w2ru { chosen = locator }
            if chosen == nil && locator.platformCodeValue != 0 { chosen = locator }
        }
        guard let chosen else { throw .invalid(image: image.path, problem: "no parent locator") }
        return try image.readLocator(chosen)
    }
}
