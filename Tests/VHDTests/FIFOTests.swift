import BlockIO
import Dispatch
import Glibc
import TestSupport
import Testing
import VHD

/// A FIFO where an image or a parent should be is refused at once with `.notAStore`, by every
/// path-taking entry point: none may block waiting for a writer that never comes.
@Suite struct FIFOTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory(prefix: "FIFOTests") }

    /// `base.vhd` (with data) and `leaf.vhd` over it, then `base.vhd` replaced by a FIFO: the
    /// leaf's locators (`./base.vhd`) now name the FIFO.
    func leafOverAFIFO() throws -> (leaf: String, fifo: String) {
        let base = directory.path(for: "base.vhd")
        let image = try Create.image(on: try FileBlockStore.create(path: base), name: base, options: .init(virtualSize: 8 << 20))
        try [UInt8](repeating: 1, count: 512).withUnsafeBytes { try image.write($0, at: 0) }
        try image.flush()
        let leaf = directory.path(for: "leaf.vhd")
        _ = try Snapshot.file(at: leaf, parent: base)
        #expect(unlink(base) == 0)
        #expect(mkfifo(base, 0o644) == 0)
        return (leaf, try #require(FileParentResolver.canonicalPath(base)))
    }

    /// Runs `body`, failing the test when it blocks on `fifo` for 10 seconds (`FIFOWatchdog`).
    func promptly(unblocking fifo: String, _ body: @escaping @Sendable () -> Void) {
        if FIFOWatchdog.blocked(unblocking: fifo, body) { Issue.record("an open of \(fifo) blocked") }
    }

    @Test func aChainWhoseParentIsAFIFOIsRefused() throws {
        let (leaf, fifo) = try leafOverAFIFO()
        let image = try Image.open(store: try FileBlockStore(path: leaf, readOnly: true), name: leaf)
        promptly(unblocking: fifo) {
            #expect(throws: VHDError.io(.notAStore(path: fifo, kind: .fifo))) {
                _ = try Chain.open(leaf: image, resolver: FileParentResolver())
            }
        }
    }

    @Test func snapshotCoalesceResizeAndRevertRefuseAFIFO() throws {
        let (leaf, fifo) = try leafOverAFIFO()
        let refused = VHDError.io(.notAStore(path: fifo, kind: .fifo))
        promptly(unblocking: fifo) {
            #expect(throws: refused) { _ = try Snapshot.file(at: directory.path(for: "s.vhd"), parent: fifo) }
        }
        promptly(unblocking: fifo) {
            #expect(throws: (any Error).self) { _ = try Coalesce.file(child: leaf) }
        }
        promptly(unblocking: fifo) {
            #expect(throws: refused) {
                try Resize.journaled(path: fifo, newSize: 16 << 20, journalPath: directory.path(for: "j"))
            }
        }
        promptly(unblocking: fifo) {
            #expect(throws: refused) { try Journal.revert(path: leaf, journalPath: fifo) }
        }
    }
}
