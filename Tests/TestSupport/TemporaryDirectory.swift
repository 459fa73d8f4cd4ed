import Foundation

/// A new, empty directory under the system temporary directory (`TMPDIR`, else `/tmp`), removed
/// with everything in it by `remove()` or when the last reference goes away.
///
/// ```swift
/// let directory = try TemporaryDirectory()
/// let path = directory.path(for: "disk.vhd")
/// ```
public final class TemporaryDirectory: Sendable {
    /// The directory's absolute path.
    public let path: String

    /// Creates the directory, named `prefix` plus a unique suffix.
    /// The corresponding C function is `mkdtemp`.
    public init(prefix: String = "swift-sm") throws {
        let parent = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(parent)/\(prefix).XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        guard let created else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: parent, "errno": errno])
        }
        path = created
    }

    deinit {
        remove()
    }

    /// The path of `name` inside the directory (`name` may contain further components).
    public func path(for name: String) -> String {
        "\(path)/\(name)"
    }

    /// Removes the directory and everything in it; removing twice is harmless.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
