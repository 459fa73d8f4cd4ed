import BlockIO
import Foundation
import TestSupport
import Testing

/// A loop device over a file in a temporary directory; needs root and `losetup`.
private final class LoopDevice {
    let path: String

    init(backingFile: String) throws {
        path = try Self.losetup(["--find", "--show", backingFile]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit {
        _ = try? Self.losetup(["--detach", path])
    }

    static var isAvailable: Bool {
        getuid() == 0 && FileManager.default.fileExists(atPath: "/dev/loop-control")
            && FileManager.default.isExecutableFile(atPath: losetupPath)
    }

    private static let losetupPath = "/usr/sbin/losetup"

    private static func losetup(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: losetupPath)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileReadUnknown, userInfo: ["losetup": arguments, "status": process.terminationStatus])
        }
        return String(decoding: data, as: UTF8.self)
    }
}

@Suite(.enabled(if: LoopDevice.isAvailable, "needs root and losetup")) struct BlockDeviceTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "BlockDeviceTests")
    }

    private func makeLoopDevice(size: UInt64) throws -> LoopDevice {
        let backing = directory.path(for: "backing.img")
        _ = try FileBlockStore.create(path: backing, size: size)
        return try LoopDevice(backingFile: backing)
    }

    @Test(arguments: [false, true])
    func blockDeviceHasAFixedSizeFromTheIoctl(direct: Bool) throws {
        let device = try makeLoopDevice(size: 8 * mebibyte)
        let store = try FileBlockStore(path: device.path, direct: direct)
        #expect(store.isBlockDevice)
        #expect(!store.canGrow)
        #expect(store.isDirect == direct)
        #expect(store.size == 8 * mebibyte)

        let data = pattern(count: 10_000, seed: 21)
        try store.write(data, at: 1234)
        try store.flush()
        #expect(try store.read(count: data.count, at: 1234) == data)

        #expect(
            throws: BlockIOError.outOfRange(
                store: device.path,
                operation: "write",
                offset: 8 * mebibyte - 1,
                count: 2,
                size: 8 * mebibyte
            )
        ) {
            try store.write([1, 2], at: 8 * mebibyte - 1)
        }
        #expect(throws: BlockIOError.unsupported(store: device.path, operation: "resize")) {
            try store.resize(to: 16 * mebibyte)
        }
        try store.resize(to: 8 * mebibyte)
        #expect(store.size == 8 * mebibyte)
    }

    @Test func blockDeviceDiscardReadsZeros() throws {
        let device = try makeLoopDevice(size: 4 * mebibyte)
        let store = try FileBlockStore(path: device.path)
        let data = pattern(count: Int(mebibyte), seed: 22)
        try store.write(data, at: 0)
        try store.discard(1000..<600_000)
        var expected = data
        expected.replaceSubrange(1000..<600_000, with: [UInt8](repeating: 0, count: 599_000))
        #expect(try store.read(count: data.count, at: 0) == expected)
        #expect(try store.allocatedRanges(in: 0..<store.size).first?.lowerBound == 0)
    }
}
