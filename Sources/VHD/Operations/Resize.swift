import BlockIO
import Glibc
import VHDFormat

/// Growing images: fast (within the preallocated BAT, safe while the disk is in use) and full
/// (growing the BAT, moving blocks out of its way, journaled in blktap's format so that either
/// tool can revert a crash).
public enum Resize {
    /// The named steps of a full resize, for failure injection (blktap's
    /// `VHD_UTIL_TEST_FAIL_RESIZE_*`), reached where blktap reaches them.
    public enum Step: String, Sendable, CaseIterable {
        /// The metadata is journaled and the disk disabled.
        case begin = "RESIZE_BEGIN"
        /// Blocks were moved out of the metadata's way (only when any had to be).
        case dataMoved = "RESIZE_DATA_MOVED"
        /// The metadata after the BAT was shifted (only when the BAT or batmap outgrew its
        /// sectors).
        case metadataMoved = "RESIZE_METADATA_MOVED"
        /// The grown header, BAT, batmap and footers are written; the disk is still disabled.
        case end = "RESIZE_END"
    }

    /// Sets the virtual size to `newSize` rounded up to a whole block, without moving
    /// anything: the BAT must already have the entries (`create -S`). Refuses to shrink.
    public static func fast(_ image: Image, newSize: UInt64) throws(VHDError) {
        guard let header = image.header else {
            throw .unsupported(image: image.name, operation: "fast resize of a fixed disk", errno: 22)
        }
        let size = roundUp(newSize, to: UInt64(header.blockSize))
        guard size >= image.virtualSize else {
            throw .invalidArgument("\(image.name): size (\(size)) < curr size (\(image.virtualSize))")
        }
        let capacity = UInt64(header.maxTableEntries) * UInt64(header.blockSize)
        guard size <= capacity else {
            throw .invalidArgument("\(image.name): size (\(size)) exceeds the preallocated maximum (\(capacity))")
        }
        try image.updateFooter { footer in
            footer.currentSize = size
            footer.geometry = Geometry.blktap(forSize: size)
        }
        try image.refreshBatmapChecksum()
        try image.flush()
    }

    public static func fast(path: String, newSize: UInt64) throws(VHDError) {
        try fast(try FileAccess.image(path, writable: true), newSize: newSize)
    }

    /// Grows the dynamic or differencing disk at `path` to `newSize`, journaling in
    /// `journalPath` as blktap's `resize -j` does (the journal must not exist). On failure the
    /// journal is replayed and the error reported as `.rolledBack`; after a crash,
    /// `Journal.revert(path:journalPath:)` (or blktap's `vhd-util revert`) restores the image
    /// byte for byte. A fixed disk is refused with EINVAL, as blktap refuses it.
    public static func journaled(
        path: String, newSize: UInt64, journalPath: String, failAt: ((Step) throws(VHDError) -> Void)? = nil
    ) throws(VHDError) {
        let store = try FileAccess.store(path, writable: true)
        _ = try ResizePlan(image: try Image.open(store: store, name: path, options: .readWrite), newSize: newSize)
        let journal: FileBlockStore
        do { journal = try FileBlockStore.create(path: journalPath, mode: .exclusive) } catch { throw .io(error) }
        try journaled(store: store, name: path, newSize: newSize, journal: journal, failAt: failAt)
        try Journal.removeJournal(journalPath)
    }

    /// The store-level journaled grow (testable over fault-injecting stores); `journal` must be
    /// empty. On success the VHD is enabled, then the journal committed (left holding only its
    /// header, which `Journal.revert` treats as nothing to undo) — unless `keepingJournal`: a
    /// caller with a commit point of its own (the SR's metadata save) keeps the grow revertible
    /// until then, and discards the journal after it.
    public static func journaled(
        store: any BlockStore, name: String, newSize: UInt64, journal: any BlockStore,
        keepingJournal: Bool = false, failAt: ((Step) throws(VHDError) -> Void)? = nil
    ) throws(VHDError) {
        let image = try Image.open(store: store, name: name, options: .readWrite)
        let plan = try ResizePlan(image: image, newSize: newSize)
        let writer: JournalWriter
        do { writer = try ResizeRun(image: image, plan: plan, failAt: failAt).run(journal: journal) } catch {
            guard journal.size > 0 else { throw error }
            do { try Journal.revert(vhd: store, journal: journal) } catch let revertError {
                throw .rolledBack(
                    operation: "resize of \(name)", cause: "\(error); revert also failed: \(revertError)",
                    causeErrno: revertError.errno)
            }
            throw .rolledBack(operation: "resize of \(name)", cause: error.description, causeErrno: error.errno)
        }
        // Enabled before the commit (blktap commits first): a crash between the two then leaves
        // a full journal that either tool reverts, never a disabled disk with nothing to revert.
        try Journal.enable(store)
        try VHDError.wrap { () throws(BlockIOError) in try store.flush() }
        if !keepingJournal { try writer.commit() }
    }
}

extension Image {
    /// Recomputes the batmap checksum, whose span depends on the virtual size, and writes the
    /// batmap header.
    func refreshBatmapChecksum() throws(VHDError) {
        guard let header, var batmapHeader = batmapHeader else { return }
        batmapHeader.checksum = BatmapHeader.checksum(of: batmap, currentSize: virtualSize, version: batmapHeader.version)
        let updated = batmapHeader
        try rewriteMetadata([(Layout.batmapHeaderOffset(header: header), updated.encoded())]) { $0.batmapHeader = updated }
    }
}
