import ArgumentParser
import Glibc
import SM
import SMDrivers

/// `sm install-plugins DIR`: the `<Type>SR` links a toolstack finds its plugins by.
struct InstallPluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install-plugins", abstract: "Create the <Type>SR plugin links (EXTSR, …) to this sm.",
        discussion: "Existing links of those names are replaced; other files are left alone.")

    @Argument(help: "The plugin directory (xapi's is /opt/xensource/sm).") var directory: String

    func run() throws {
        let target = try Self.executablePath()
        for driver in SMDrivers.all() {
            let link = directory + "/" + driver.pluginName
            var info = stat()
            if lstat(link, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFLNK else {
                    throw CLIError("\(link) exists and is not a link: not replaced")
                }
                unlink(link)
            }
            guard symlink(target, link) == 0 else {
                throw CLIError("cannot link \(link) to \(target): \(String(cString: strerror(errno)))")
            }
            print("\(link) -> \(target)")
        }
    }

    /// This executable's absolute path (`/proc/self/exe`).
    static func executablePath() throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { throw CLIError("cannot find this executable's path") }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
