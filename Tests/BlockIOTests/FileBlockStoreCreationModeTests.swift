import BlockIO
import Glibc
import TestSupport
import Testing

/// A created store holds a disk's data, so its mode is exactly the one asked for (owner-only by
/// default), not whatever the umask and an earlier file at the path leave.
@Suite struct FileBlockStoreCreationModeTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "FileBlockStoreCreationModeTests")
    }

    func mode(_ path: String) -> mode_t {
        var info = stat()
        #expect(stat(path, &info) == 0)
        return info.st_mode & 0o7777
    }

    @Test func aNewStoreIsOwnerOnly() throws {
        let path = directory.path(for: "new.img")
        _ = try FileBlockStore.create(path: path, size: 4096, mode: .exclusive)
        #expect(mode(path) == 0o600)
    }

    @Test func truncatingALooseFileMakesItOwnerOnly() throws {
        let path = directory.path(for: "loose.img")
        let descriptor = open(path, O_WRONLY | O_CREAT, 0o600)
        #expect(descriptor >= 0 && fchmod(descriptor, 0o666) == 0)
        close(descriptor)
        _ = try FileBlockStore.create(path: path, mode: .truncate)
        #expect(mode(path) == 0o600)
    }

    /// The umask (022 or stricter in a test run) would take bits off 0666; the store puts them back.
    @Test func anExplicitModeIsExactWhateverTheUmask() throws {
        let path = directory.path(for: "shared.img")
        _ = try FileBlockStore.create(path: path, mode: .exclusive, permissions: 0o666)
        #expect(mode(path) == 0o666)
    }
}
