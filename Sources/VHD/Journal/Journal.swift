import BlockIO
import Glibc
import VHDFormat

/// blktap's undo journal (`libvhd-journal.c`), interchangeable with blktap's in both
/// directions: a journaled operation saves what it will overwrite (`JournalWriter`), disables
/// the VHD with the poison cookie, and `revert` puts every saved byte back
/// (`JournalContents`), whichever tool wrote the journal.
public enum Journal {
    /// Undoes the operation `journal` records on `vhd`: the saved metadata goes back where
    /// blktap restores it, the file is cut to its journaled length, the saved data goes back,
    /// and the VHD is enabled again. A committed (empty) journal only re-enables the VHD. Safe
    /// to run again after a crash part-way.
    ///
    /// - Throws: `.invalid` naming the journal when it is not one blktap could revert, `.io`.
    public static func revert(vhd store: any BlockStore, journal: any BlockStore) throws(VHDError) {
        try JournalContents(reading: journal).revert(store)
    }

    /// Reverts `path` from the journal file at `journalPath`, then deletes the journal.
    public static func revert(path: String, journalPath: String) throws(VHDError) {
        let contents = try JournalContents(reading: try FileAccess.store(journalPath, writable: false))
        try contents.revert(try FileAccess.store(path, writable: true))
        try removeJournal(journalPath)
    }

    /// Reads the journal at `journalPath` as `revert` would, without touching the VHD: what
    /// `vhd-util revert` calls "opening" the journal.
    public static func check(journalPath: String) throws(VHDError) {
        _ = try JournalContents(reading: try FileAccess.store(journalPath, writable: false))
    }

    static func removeJournal(_ path: String) throws(VHDError) {
        if unlink(path) != 0 && errno != ENOENT { throw .io(.system(call: "unlink", errno: errno, path: path)) }
    }

    /// Writes `footer` with `cookie` (`conectix`, or `v_poison` to disable the VHD) at
    /// `offset` and, for a sparse disk, as the copy at 0 (`vhd_journal_disable_vhd`).
    static func writeFooters(_ footer: Footer, cookie: String, at offset: UInt64, to store: any BlockStore)
        throws(VHDError)
    {
        var marked = footer
        marked.cookie = Array(cookie.utf8)
        marked.storedChecksum = marked.computedChecksum
        let bytes = marked.encoded()
        try VHDError.wrap { () throws(BlockIOError) in
            try store.write(bytes, at: offset)
            if footer.diskType?.isSparse == true { try store.write(bytes, at: 0) }
        }
    }

    /// Re-enables a disabled VHD (`vhd_journal_enable_vhd`): a poisoned primary footer at the
    /// end of `store` is rewritten with the `conectix` cookie, with its copy. Anything else
    /// is left as it is.
    static func enable(_ store: any BlockStore) throws(VHDError) {
        guard store.size >= UInt64(Footer.size) else { return }
        let offset = store.size - UInt64(Footer.size)
        let bytes = try VHDError.wrap { () throws(BlockIOError) in try store.read(count: Footer.size, at: offset) }
        guard let footer = try? Footer(decoding: bytes), footer.isPoisoned, footer.isChecksumValid else { return }
        try writeFooters(footer, cookie: Footer.cookie, at: offset, to: store)
    }
}
