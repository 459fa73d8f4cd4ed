import BlockIO
import Glibc
import VHDFormat

/// blktap's `vhd-util check`: every structural rule of a VHD file, tested in blktap's order and
/// reported in blktap's words (`vhd/lib/vhd-util-check.c`), so that tools parsing its output
/// keep working.
///
/// A check stops at the first failing stage. Some stages report several lines (the `-b`
/// bitmap test reports every offending sector of the first bad block).
public enum Check {
    /// blktap's `TIMESTAMP_MAX_SLACK`: timestamps may lie this many seconds in the future
    /// (clock skew with NFS servers).
    public static let timestampSlack: UInt32 = 1800

    /// The `check` flags.
    public struct Options: Sendable {
        /// `-i`: use the footer copy at offset 0 when the primary footer is invalid or differs.
        public var ignoreFooter = false
        /// `-I`: do not compare the parent's UUID with the header's.
        public var ignoreParentUUID = false
        /// `-t`: do not reject timestamps in the future.
        public var ignoreTimestamps = false
        /// `-b`: report sectors holding data where the sector bitmap is clear.
        public var checkData = false
        /// `-B`: skip the pairwise block overlap test.
        public var skipOverlapCheck = false
        /// `-s`: collect allocation statistics.
        public var collectStatistics = false
        /// The current time, seconds since the VHD epoch (2000-01-01), as blktap's `vhd_time(time(NULL))`.
        public var now: UInt32

        /// No flags, with the current time.
        public init(now: UInt32 = Check.currentVHDTime()) { self.now = now }
    }

    /// The outcome of checking one file.
    public struct Report: Sendable {
        /// The path as given.
        public var path: String
        /// The lines blktap prints for the problems found, in order (empty when valid).
        public var problems: [String]
        /// 0 when valid, else the positive errno blktap exits with.
        public var errno: Int32
        /// Whether blktap follows the problems with `<path> appears invalid; dumping metadata` and
        /// a `read -p` dump (every failure after the file could be opened).
        public var dumpsMetadata: Bool
        /// Whether the footer in use describes a dynamic or differencing disk: blktap checks only
        /// the footer of other disks and prints nothing for them on success.
        public var isSparse: Bool
        /// The allocation statistics (`-s`), when the check reached the BAT.
        public var statistics: Statistics?

        /// Whether no problem was found.
        public var isValid: Bool { errno == 0 }
    }

    /// Sector allocation of one image, for `-s`.
    public struct Statistics: Sendable {
        /// The path the image was checked under.
        public var path: String
        /// Sectors per block × BAT entries: the range the bitmaps cover.
        public var totalSectors: UInt64
        /// Sectors in allocated blocks.
        public var allocatedSectors: UInt64 = 0
        /// Sectors whose bitmap bit is set.
        public var writtenSectors: UInt64 = 0
        /// The sector bitmap of each allocated block, by block index.
        public var blockBitmaps: [Int: [UInt8]] = [:]
        /// Sectors per block of the image.
        public var sectorsPerBlock: UInt64

        /// Empty statistics for an image of `totalSectors` sectors in blocks of `sectorsPerBlock`.
        public init(path: String, totalSectors: UInt64, sectorsPerBlock: UInt64) {
            self.path = path
            self.totalSectors = totalSectors
            self.sectorsPerBlock = sectorsPerBlock
        }
    }

    /// Checks the file at `path`.
    public static func image(at path: String, options: Options = Options()) -> Report {
        var run = Run(path: path, options: options)
        let errno = run.check()
        return Report(
            path: path, problems: run.problems, errno: errno, dumpsMetadata: errno != 0 && run.opened,
            isSparse: run.isSparse, statistics: run.statistics)
    }

    /// One step of `check -p`: the parent of `path` to check next, nil when the chain ends (not
    /// a differencing disk, or a raw parent).
    ///
    /// - Returns: `.failure` with blktap's errno; `message` is the line blktap prints, nil when
    ///   it prints none (the image could not be opened).
    public static func parent(of path: String) -> Result<String?, ParentStepFailure> {
        let image: Image.Libvhd
        do { image = try Image.open(path: path, options: .libvhd()).libvhd } catch {
            return .failure(ParentStepFailure(message: nil, errno: error.errno))
        }
        guard image.isDifferencing, !image.hasRawParent else { return .success(nil) }
        do { return .success(try image.parentPath()) } catch {
            return .failure(ParentStepFailure(message: "error getting parent: -\(error.errno)", errno: error.errno))
        }
    }

    /// Why `check -p` stopped walking up the chain.
    public struct ParentStepFailure: Error, Sendable {
        /// The line blktap prints, nil when it prints none.
        public var message: String?
        /// The positive errno.
        public var errno: Int32

        public init(message: String?, errno: Int32) {
            self.message = message
            self.errno = errno
        }
    }

    /// The current time in the VHD epoch, truncated to 32 bits as blktap's `vhd_time`.
    public static func currentVHDTime() -> UInt32 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt32(truncatingIfNeeded: Int64(spec.tv_sec) - VHDTimestamp.epochUnixTime)
    }

    /// The state of one check as it goes (`struct vhd_util_check_ctx`).
    struct Run {
        let path: String
        let options: Options
        var problems: [String] = []
        /// Whether the file was opened (failures from then on dump the metadata).
        var opened = false
        var isSparse = false
        var primaryFooterMissing = false
        var statistics: Statistics?

        init(path: String, options: Options) {
            self.path = path
            self.options = options
        }

        mutating func fail(_ message: String, _ errno: Int32) -> Int32 {
            problems.append(message)
            return errno
        }

        /// `vhd_util_check_vhd`, returning the positive errno (0 when valid).
        mutating func check() -> Int32 {
            var info = stat()
            if stat(path, &info) != 0 {
                let code = errno
                return fail("cannot stat \(path): \(code)", code)
            }
            let kind = info.st_mode & S_IFMT
            guard kind == S_IFREG || kind == S_IFBLK else {
                return fail("\(path) is not a regular file or block device", EINVAL)
            }
            let store: FileBlockStore
            do { store = try FileBlockStore(path: path, readOnly: true) } catch {
                return fail("error opening \(path)", error.errno)
            }
            opened = true
            let footer: Footer
            switch checkFooter(store) {
            case .success(let found): footer = found
            case .failure(let code): return code.rawValue
            }
            guard footer.diskType?.isSparse == true else { return 0 }
            isSparse = true
            if let code = checkHeader(store, footer: footer) { return code }
            let image: Image.Libvhd
            do { image = try Image.open(path: path, options: .libvhd()).libvhd } catch { return error.errno }
            if let problem = differencingHeaderProblem(image) {
                return fail("differencing header is invalid: \(problem)", EINVAL)
            }
            if let code = checkBAT(image) { return code }
            if image.hasBatmap, let code = checkBatmap(image) { return code }
            if image.isDifferencing, let code = checkParentLocators(image) { return code }
            return 0
        }
    }
}

/// A positive errno carried as an error.
struct CheckErrno: Error {
    let rawValue: Int32
    init(_ rawValue: Int32) { self.rawValue = rawValue }
}
