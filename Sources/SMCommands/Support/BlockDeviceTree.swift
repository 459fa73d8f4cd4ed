import Glibc
import SM

/// What sysfs says of block devices by number: a disk's partitions, a loop device's file.
enum BlockDeviceTree {
    /// `major:minor` of a device number, as sysfs names devices (glibc's `gnu_dev_major/minor`).
    static func name(_ device: UInt64) -> String {
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)
        let minor = (device & 0xff) | ((device >> 12) & ~0xff)
        return "\(major):\(minor)"
    }

    /// The device numbers of the partitions of disk `device` (`/sys/dev/block/M:m/*/dev`).
    static func partitions(of device: UInt64) -> [UInt64] {
        let directory = "/sys/dev/block/\(name(device))"
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var found: [UInt64] = []
        while let entry = readdir(handle) {
            let child = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard !child.hasPrefix("."), let text = read("\(directory)/\(child)/partition"), !text.isEmpty,
                let number = read("\(directory)/\(child)/dev").flatMap(parse)
            else { continue }
            found.append(number)
        }
        return found
    }

    /// The file loop device `device` maps, when it is one (`/sys/dev/block/M:m/loop/backing_file`).
    static func loopBackingFile(of device: UInt64) -> String? {
        read("/sys/dev/block/\(name(device))/loop/backing_file").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A sysfs attribute's text without its newline, nil when absent.
    static func read(_ path: String) -> String? {
        MountTable.readText(path).map { $0.hasSuffix("\n") ? String($0.dropLast()) : $0 }
    }

    /// A `major:minor` text as a device number.
    static func parse(_ text: String) -> UInt64? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let major = UInt64(parts[0]), let minor = UInt64(parts[1]) else { return nil }
        return ((major & 0xfff) << 8) | ((major & ~0xfff) << 32) | (minor & 0xff) | ((minor & ~0xff) << 12)
    }
}
