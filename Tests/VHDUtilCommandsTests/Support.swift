import BlockIO
import Foundation
import TestSupport
import Testing
import VHD
import VHDFormat
import VHDUtilCommands

/// The outcome of one in-process `vhd-util` run.
struct Outcome {
    var status: Int32
    var stdoutBytes: [UInt8]
    var stderr: String

    /// Standard output as text (decoded on demand: binary dumps can be megabytes).
    var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
}

/// Runs `vhd-util` in process with `arguments`, in local time UTC (for ctime output).
func vhdUtil(_ arguments: String...) -> Outcome {
    vhdUtil(arguments)
}

func vhdUtil(_ arguments: [String]) -> Outcome {
    _ = utcTimeZone
    let out = CapturedOutput()
    let err = CapturedOutput()
    let status = VHDUtil.run(arguments: arguments, stdout: out, stderr: err)
    return Outcome(status: status, stdoutBytes: out.bytes, stderr: err.text)
}

/// Every test reads timestamps in UTC; set once, before any run.
let utcTimeZone: Void = {
    setenv("TZ", "UTC", 1)
    tzset()
}()

/// A scratch directory with helpers to make images whose every field is chosen (UUIDs,
/// timestamps), so outputs are reproducible byte for byte.
final class Workspace {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory(prefix: "vhd-util-tests") }

    var path: String { directory.path }

    func path(_ name: String) -> String { directory.path(for: name) }

    /// VHD.md's observed `read -p` example: the timestamp and the UUIDs.
    static let exampleTime = VHDTimestamp(secondsSince2000: 848_591_284)
    static let parentUUID = VHDUUID(string: "9066fab9-8063-4c0c-ad47-7c022c3084c0")!
    static let childUUID = VHDUUID(string: "b81f19f6-4fd3-448e-990c-2818de067ff3")!

    /// A dynamic (or fixed) image with fixed identity.
    @discardableResult
    func create(
        _ name: String, megabytes: UInt64, type: DiskType = .dynamic, uuid: VHDUUID = Workspace.parentUUID,
        timestamp: VHDTimestamp = Workspace.exampleTime, preallocatedMegabytes: UInt64? = nil
    ) throws -> Image {
        let store = try FileBlockStore.create(path: path(name), mode: .truncate)
        return try Create.image(
            on: store, name: path(name),
            options: .init(
                virtualSize: megabytes << 20, diskType: type, preallocatedSize: preallocatedMegabytes.map { $0 << 20 },
                uuid: uuid, timestamp: timestamp))
    }

    /// A differencing image over `parent` (in the same directory), with fixed identity.
    @discardableResult
    func child(
        _ name: String, of parent: String, parentUUID: VHDUUID = Workspace.parentUUID,
        uuid: VHDUUID = Workspace.childUUID, megabytes: UInt64
    ) throws -> Image {
        let store = try FileBlockStore.create(path: path(name), mode: .truncate)
        let spec = ParentSpec(
            uuid: parentUUID, timestamp: Workspace.exampleTime, name: parent, relativePath: "./" + parent)
        return try Create.image(
            on: store, name: path(name),
            options: .init(virtualSize: megabytes << 20, parent: spec, uuid: uuid, timestamp: Workspace.exampleTime))
    }

    /// Writes `count` bytes of `byte` at `offset` of the virtual disk.
    func write(_ image: Image, byte: UInt8, count: Int, at offset: UInt64) throws {
        let data = [UInt8](repeating: byte, count: count)
        try data.withUnsafeBytes { try image.write($0, at: offset) }
        try image.flush()
    }

    /// Overwrites raw file bytes.
    func patch(_ name: String, at offset: UInt64, with bytes: [UInt8]) throws {
        let store = try FileBlockStore(path: path(name), readOnly: false)
        try store.write(bytes, at: offset)
        try store.flush()
    }

    /// Reads raw file bytes.
    func bytes(_ name: String, at offset: UInt64, count: Int) throws -> [UInt8] {
        try FileBlockStore(path: path(name), readOnly: true).read(count: count, at: offset)
    }

    func size(_ name: String) throws -> UInt64 { try FileBlockStore(path: path(name), readOnly: true).size }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }
}

/// The big-endian bytes of a 32-bit value.
func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

extension Workspace {
    /// Rewrites the footer at the end of `name` (and, unless `primaryOnly`, the copy at offset 0)
    /// after `change`, with a freshly computed checksum.
    func rewriteFooters(_ name: String, primaryOnly: Bool = false, _ change: (inout Footer) -> Void) throws {
        let end = try size(name)
        var footer = try Footer(decoding: bytes(name, at: end - 512, count: 512))
        change(&footer)
        try patch(name, at: end - 512, with: footer.encoded())
        if !primaryOnly { try patch(name, at: 0, with: footer.encoded()) }
    }

    /// Rewrites the dynamic header at offset 512 after `change`, with a fresh checksum.
    func rewriteHeader(_ name: String, _ change: (inout DynamicHeader) -> Void) throws {
        var header = try DynamicHeader(decoding: bytes(name, at: 512, count: 1024))
        change(&header)
        try patch(name, at: 512, with: header.encoded())
    }

    /// Sets BAT entry `block` (a sector offset) of an image with its BAT at 1536.
    func setBATEntry(_ name: String, block: Int, sector: UInt32) throws {
        try patch(name, at: 1536 + UInt64(block) * 4, with: bigEndian(sector))
    }
}
