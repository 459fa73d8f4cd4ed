import BlockIO
import Foundation
import TestSupport
import Testing
import VHD
import VHDFormat

/// Damaged and hostile images: each is refused with a specific `VHDError`, never a crash or
/// a hang (the time limit), and refusing one writes nothing (every file in its directory keeps
/// its bytes and modification time, whether opened read-only or read-write).
@Suite(.timeLimit(.minutes(2)))
struct BadInputTests {
    // MARK: Truncation

    struct Truncation: Sendable, CustomTestStringConvertible {
        var length: Int
        var problem: String
        var testDescription: String { "truncated to \(length) bytes" }
    }

    static let truncations: [Truncation] = [
        Truncation(length: 0, problem: "too small to hold a VHD footer"),
        Truncation(length: 511, problem: "too small to hold a VHD footer"),
        // Only the footer copy: it is valid as a primary footer, but the header is missing.
        Truncation(length: 512, problem: "header offset 512 is outside the 512-byte file"),
        // The primary candidate is header bytes; the copy at 0 is used, the header still ends past EOF.
        Truncation(length: 1024, problem: "header offset 512 is outside the 1024-byte file"),
        // Metadata intact, blocks gone.
        Truncation(length: 3584, problem: "extends past the end of data"),
        Truncation(length: 3 << 20, problem: "extends past the end of data"),
    ]

    @Test(arguments: truncations)
    func truncatedImageIsRefused(_ truncation: Truncation) async throws {
        let directory = try TemporaryDirectory(prefix: "bad-truncated")
        let path = try Hostile.validImage(in: directory.path)
        try Hostile.truncate(path, to: truncation.length)
        let problem = Hostile.problem(try Hostile.refusal(path))
        #expect(problem?.contains(truncation.problem) == true, "got \(problem ?? "no .invalid error")")
    }

    /// One byte short, the file ends in blktap's 511-byte "short" footer, which blktap accepts.
    @Test func imageOneByteShortOpensWithTheShortFooter() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-short")
        let path = try Hostile.validImage(in: directory.path)
        let expected = try Disks.read(try Disks.chain(path), 0..<Hostile.size)
        let length = try Disks.FileState(path).bytes.count
        try Hostile.truncate(path, to: length - 1)
        let image = try Disks.open(path)
        #expect(image.footerSource == .primary(offset: UInt64(length - 512)))
        #expect(try Disks.read(Chain(layers: [image]), 0..<Hostile.size) == expected)
    }

    // MARK: Footer and header

    @Test func badPrimaryFooterChecksumFallsBackToTheCopyWithoutRepairing() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-footer")
        let path = try Hostile.validImage(in: directory.path)
        try Hostile.edit(path) { $0[$0.count - 512 + 64] ^= 0xFF }
        let before = try Disks.FileState(path)
        let image = try Disks.open(path)
        #expect(image.footerSource == .backup(primaryProblem: "invalid checksum"))
        #expect(try Disks.read(Chain(layers: [image]), 0..<4096) == pattern(count: 4096, seed: 1))
        #expect(try Disks.FileState(path) == before)
    }

    @Test func badChecksumInBothFootersIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-footers")
        let path = try Hostile.validImage(in: directory.path)
        try Hostile.editFooter(path, validChecksum: false) { _ in }
        #expect(
            Hostile.problem(try Hostile.refusal(path))
                == "no valid footer: primary footer invalid checksum; backup footer invalid checksum")
    }

    @Test func unknownDiskTypeIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-type")
        let path = try Hostile.validImage(in: directory.path)
        try Hostile.editFooter(path) { $0.diskTypeValue = 7 }
        #expect(Hostile.problem(try Hostile.refusal(path)) == "unsupported disk type 7")
    }

    @Test func badHeaderChecksumIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-header")
        let path = try Hostile.validImage(in: directory.path)
        try Hostile.editHeader(path, validChecksum: false) { _ in }
        #expect(Hostile.problem(try Hostile.refusal(path))?.hasPrefix("invalid checksum") == true)
    }

    @Test func badHeaderCookieIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-cookie")
        let path = try Hostile.validImage(in: directory.path)
        try Hostile.editHeader(path) { $0.cookie = Array("cxsparsX".utf8) }
        #expect(Hostile.problem(try Hostile.refusal(path)) == "invalid cookie")
    }

    @Test func headerOffsetPastTheEndIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-offset")
        let path = try Hostile.validImage(in: directory.path)
        try Hostile.editFooter(path) { $0.dataOffset = UInt64.max - 511 }
        #expect(Hostile.problem(try Hostile.refusal(path))?.hasPrefix("header offset 18446744073709551104 is outside") == true)
    }

    // MARK: Absurd sizes

    struct HeaderEdit: Sendable, CustomTestStringConvertible {
        var name: String
        var problem: String
        var change: @Sendable (inout DynamicHeader) -> Void
        var testDescription: String { name }
    }

    static let headerEdits: [HeaderEdit] = [
        HeaderEdit(name: "max_table_entries 0xFFFFFFFF", problem: "BAT of 4294967295 entries at 1536 extends past the end") {
            $0.maxTableEntries = .max
        },
        HeaderEdit(name: "max_table_entries 0", problem: "BAT has 0 entries but a 6291456-byte disk needs 3") {
            $0.maxTableEntries = 0
        },
        HeaderEdit(name: "block size 3 MiB", problem: "invalid block size 3145728") { $0.blockSize = 3 << 20 },
        HeaderEdit(name: "block size 0", problem: "invalid block size 0") { $0.blockSize = 0 },
        HeaderEdit(name: "block size 2 GiB", problem: "invalid block size 2147483648") { $0.blockSize = 1 << 31 },
        HeaderEdit(name: "block size 256", problem: "invalid block size 256") { $0.blockSize = 256 },
        HeaderEdit(name: "table offset near 2^64", problem: "extends past the end") { $0.tableOffset = UInt64.max - 511 },
        HeaderEdit(name: "table offset unaligned", problem: "invalid table offset 1537") { $0.tableOffset = 1537 },
        HeaderEdit(name: "parent locator code unknown", problem: "invalid parent locator code 0x12345678 in slot 3") {
            $0.locators[3].platformCodeValue = 0x1234_5678
        },
    ]

    @Test(arguments: headerEdits)
    func absurdHeaderIsRefused(_ edit: HeaderEdit) async throws {
        let directory = try TemporaryDirectory(prefix: "bad-sizes")
        let path = try Hostile.validImage(in: directory.path)
        try Hostile.editHeader(path, edit.change)
        // blktap's header validation takes any power-of-two block size up to 2 MiB, so its
        // check passes 256; opening refuses it (a block smaller than a sector).
        let problem = Hostile.problem(try Hostile.refusal(path, checkFindsIt: edit.name != "block size 256"))
        #expect(problem?.contains(edit.problem) == true, "got \(problem ?? "no .invalid error")")
    }

    @Test func hugeCurrentSizeOfADynamicDiskIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-current")
        let path = try Hostile.validImage(in: directory.path)
        try Hostile.editFooter(path) { $0.currentSize = UInt64.max - 511 }
        let problem = Hostile.problem(try Hostile.refusal(path))
        #expect(problem?.hasPrefix("BAT has 3 entries but a 18446744073709551104-byte disk needs") == true, "\(problem ?? "-")")
    }

    @Test func fixedDiskLargerThanItsFileIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-fixed")
        let path = directory.path(for: "fixed.vhd")
        _ = try Disks.create(path, size: 1 << 20, type: .fixed)
        try Hostile.editFooter(path) { $0.currentSize = 1 << 40 }
        // blktap's check of a fixed disk looks at the footer's fields only, not at the file's size.
        #expect(
            Hostile.problem(try Hostile.refusal(path, checkFindsIt: false))?
                .hasPrefix("fixed disk of 1099511627776 bytes does not fit") == true)
    }

    // MARK: BAT

    @Test func blockInsideTheMetadataIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-bat-meta")
        let path = try Hostile.validImage(in: directory.path)
        try Hostile.setBATEntry(path, block: 1, to: 1)
        #expect(Hostile.problem(try Hostile.refusal(path))?.hasPrefix("block 1 at 512 lies inside the metadata") == true)
    }

    @Test(arguments: [0x00FF_FFFF, 0xFFFF_FFFE] as [UInt32])
    func blockPastTheEndIsRefused(sector: UInt32) async throws {
        let directory = try TemporaryDirectory(prefix: "bad-bat-end")
        let path = try Hostile.validImage(in: directory.path)
        try Hostile.setBATEntry(path, block: 1, to: sector)
        let problem = Hostile.problem(try Hostile.refusal(path))
        #expect(problem?.hasPrefix("block 1 at \(UInt64(sector) * 512) extends past the end of data") == true, "\(problem ?? "-")")
    }

    @Test(arguments: [0, 1, 8] as [UInt32])
    func overlappingBlocksAreRefused(shift: UInt32) async throws {
        let directory = try TemporaryDirectory(prefix: "bad-bat-overlap")
        let path = try Hostile.validImage(in: directory.path)
        try Hostile.setBATEntry(path, block: 1, to: try Hostile.batEntry(path, block: 0) + shift)
        let problem = Hostile.problem(try Hostile.refusal(path))
        #expect(problem?.contains("overlaps block") == true, "\(problem ?? "-")")
    }

    // MARK: Chains

    /// base ← a ← b, for the chain tests.
    static func chain(in directory: String) throws -> (base: String, a: String, b: String) {
        let base = try Hostile.validImage(in: directory, name: "base.vhd")
        let a = directory + "/a.vhd"
        let b = directory + "/b.vhd"
        let image = try Snapshot.file(at: a, parent: base)
        try pattern(count: 512, seed: 9).withUnsafeBytes { try image.write($0, at: 512) }
        _ = try Snapshot.file(at: b, parent: a)
        return (base, a, b)
    }

    @Test func parentCycleIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-cycle")
        let (_, a, b) = try Self.chain(in: directory.path)
        try Hostile.setLocators(a, to: "./b.vhd")
        let canonicalA = try #require(FileParentResolver.canonicalPath(a))
        let canonicalB = try #require(FileParentResolver.canonicalPath(b))
        // `check` without -p looks at b alone, whose own parent link is sound.
        #expect(try Hostile.refusal(b, checkFindsIt: false) == .parentCycle(chain: [b, canonicalA, canonicalB]))
    }

    @Test func imageThatIsItsOwnParentIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-self")
        let (_, a, _) = try Self.chain(in: directory.path)
        try Hostile.setLocators(a, to: "./a.vhd")
        let canonical = try #require(FileParentResolver.canonicalPath(a))
        #expect(try Hostile.refusal(a) == .parentCycle(chain: [a, canonical]))
    }

    @Test func missingParentIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-missing")
        let (base, a, _) = try Self.chain(in: directory.path)
        try FileManager.default.removeItem(atPath: base)
        #expect(try Hostile.refusal(a) == .notFound(path: FileParentResolver.directory(of: a) + "/./base.vhd"))
    }

    @Test func parentWithAnotherUUIDIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-uuid")
        let (base, a, _) = try Self.chain(in: directory.path)
        let expected = try Disks.open(base).uuid
        _ = try Hostile.validImage(in: directory.path, name: "base.vhd")
        let found = try Disks.open(base).uuid
        let canonical = try #require(FileParentResolver.canonicalPath(base))
        #expect(try Hostile.refusal(a) == .parentMismatch(child: a, parent: canonical, expected: expected, found: found))
    }

    @Test func chainDeeperThanTheLimitIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-deep")
        let (_, _, b) = try Self.chain(in: directory.path)
        let before = try Hostile.snapshot(directory.path)
        #expect(throws: VHDError.chainTooDeep(image: b, depth: 3, limit: 2)) {
            _ = try Chain.open(leaf: try Disks.open(b), resolver: FileParentResolver(), depthLimit: 2)
        }
        #expect(try Hostile.snapshot(directory.path) == before)
    }

    // MARK: Hostile parent names

    struct HostileReference: Sendable, CustomTestStringConvertible {
        var reference: String
        var testDescription: String { reference }
    }

    /// Enough `..` to reach `/` from any temporary directory (`..` at the root stays there), so
    /// the target exists wherever the test runs.
    static let escapes = [
        String(repeating: "../", count: 24) + "etc/passwd", "/etc/passwd", "./../outside.vhd", "./link.vhd",
    ].map(HostileReference.init)

    /// A locator naming a file outside the storage repository is refused by a confined resolver
    /// before anything is opened, whether by `..`, an absolute path, or a symbolic link.
    @Test(arguments: escapes)
    func parentOutsideTheConfinementIsRefused(_ hostile: HostileReference) async throws {
        let outer = try TemporaryDirectory(prefix: "bad-escape")
        let repository = outer.path(for: "sr")
        try FileManager.default.createDirectory(atPath: repository, withIntermediateDirectories: false)
        let (_, a, _) = try Self.chain(in: repository)
        _ = try Hostile.validImage(in: outer.path, name: "outside.vhd")
        try FileManager.default.createSymbolicLink(atPath: repository + "/link.vhd", withDestinationPath: outer.path(for: "outside.vhd"))
        try Hostile.setLocators(a, to: hostile.reference)
        let outsideBefore = try Disks.FileState(outer.path(for: "outside.vhd"))

        let error = try Hostile.refusal(a, resolver: FileParentResolver(confinement: repository))
        guard case .forbiddenParentPath(let image, let path, let reason) = error else {
            Issue.record("expected .forbiddenParentPath, got \(String(describing: error))")
            return
        }
        #expect(image == a)
        #expect(path == hostile.reference)
        #expect(reason.hasPrefix("outside "))
        #expect(try Disks.FileState(outer.path(for: "outside.vhd")) == outsideBefore)
    }

    /// Without confinement the same locator is followed, and /etc/passwd is then refused as a VHD.
    @Test func unconfinedResolverRefusesANonVHDParent() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-passwd")
        let (_, a, _) = try Self.chain(in: directory.path)
        try Hostile.setLocators(a, to: String(repeating: "../", count: 24) + "etc/passwd")
        let error = try Hostile.refusal(a)
        guard case .invalid(let image, _) = error else {
            Issue.record("expected .invalid for /etc/passwd, got \(String(describing: error))")
            return
        }
        #expect(image == "/etc/passwd")
    }

    @Test func differencingDiskWithoutAnyParentNameIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-name")
        let (_, a, _) = try Self.chain(in: directory.path)
        try Hostile.editHeader(a) { header in
            header.locators = Array(repeating: .unused, count: DynamicHeader.locatorCount)
            header.parentName = ""
        }
        let error = try Hostile.refusal(a, resolver: FileParentResolver(confinement: directory.path))
        #expect(Hostile.problem(error) == "differencing disk has no parent locator and no parent name", "\(String(describing: error))")
    }

    /// Empty locator paths: MacX `file://` is skipped, but W2ku/W2ru hold blktap's `.\` prefix,
    /// which names the repository directory itself; the confined resolver refuses it.
    @Test func emptyLocatorPathsAreRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-empty")
        let (_, a, _) = try Self.chain(in: directory.path)
        try Hostile.setLocators(a, to: "")
        let error = try Hostile.refusal(a, resolver: FileParentResolver(confinement: directory.path))
        guard case .forbiddenParentPath(_, "./", _) = error else {
            Issue.record("expected .forbiddenParentPath for './', got \(String(describing: error))")
            return
        }
    }

    @Test func parentNameOfMissingDirectoriesIsNotFound() async throws {
        let directory = try TemporaryDirectory(prefix: "bad-long")
        let (_, a, _) = try Self.chain(in: directory.path)
        let reference = String(repeating: "x/", count: 120) + "base.vhd"
        try Hostile.setLocators(a, to: reference)
        let error = try Hostile.refusal(a, resolver: FileParentResolver(confinement: directory.path))
        #expect(error == .notFound(path: directory.path + "/" + reference))
    }
}
