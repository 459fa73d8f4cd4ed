import BlockIO
import VHDFormat

/// blktap `vhd-util repair`: rewrites the footer (primary at the end of data, copy at 0) from
/// the best copy, giving a null UUID a fresh one.
public enum Repair {
    public static func image(_ image: Image, useBackupFooter: Bool = false) throws(VHDError) {
        var footer = image.footer
        if useBackupFooter && image.diskType.isSparse {
            let bytes = try VHDError.wrap { () throws(BlockIOError) in try image.store.read(count: Footer.size, at: 0) }
            guard let backup = try? Footer(decoding: bytes), backup.hasValidCookie || backup.isPoisoned,
                backup.isChecksumValid
            else { throw .invalid(image: image.name, problem: "backup footer invalid") }
            footer = backup
        }
        if footer.uuid.isNull { footer.uuid = .random() }
        let chosen = footer
        try image.updateFooter { $0 = chosen }
        try image.flush()
    }

    public static func file(path: String, useBackupFooter: Bool = false) throws(VHDError) {
        try image(try FileAccess.image(path, writable: true, ignoreDisabled: true), useBackupFooter: useBackupFooter)
    }
}
