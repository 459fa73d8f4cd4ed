import BlockIO
import Foundation
import Testing
import VHD
import VHDFormat

/// Building damaged and hostile images by editing valid ones, and proving the engine refuses
/// them without writing.
enum Hostile {
    static let size: UInt64 = 6 << 20
    static let blockSize: UInt64 = 2 << 20

    /// A valid dynamic image with blocks 0 and 2 allocated; returns its path.
    static func validImage(in directory: String, name: String = "disk.vhd") throws -> String {
        let path = directory + "/" + name
        let image = try Disks.create(path, size: size)
        try pattern(count: 4096, seed: 1).withUnsafeBytes { try image.write($0, at: 0) }
        try pattern(count: 4096, seed: 2).withUnsafeBytes { try image.write($0, at: 2 * blockSize) }
        try image.flush()
        return path
    }

    /// Rewrites the file at `path` through `edit`.
    static func edit(_ path: String, _ edit: (inout [UInt8]) throws -> Void) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        try edit(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func truncate(_ path: String, to count: Int) throws {
        try edit(path) { $0 = Array($0.prefix(count)) }
    }

    /// Changes the footer (both copies of a sparse image), with a valid checksum unless
    /// `validChecksum` is false.
    static func editFooter(_ path: String, validChecksum: Bool = true, _ change: (inout Footer) -> Void) throws {
        try edit(path) { bytes in
            let primary = bytes.count - Footer.size
            var footer = try Footer(decoding: Array(bytes[primary...]))
            let sparse = footer.diskType?.isSparse == true
            change(&footer)
            var encoded = footer.encoded()
            if !validChecksum { encoded[64] ^= 0x5A }
            bytes.replaceSubrange(primary..., with: encoded)
            if sparse { bytes.replaceSubrange(0..<Footer.size, with: encoded) }
        }
    }

    /// Changes the dynamic header at 512, with a valid checksum unless `validChecksum` is false.
    static func editHeader(_ path: String, validChecksum: Bool = true, _ change: (inout DynamicHeader) -> Void) throws {
        try edit(path) { bytes in
            let range = Int(Layout.headerOffset)..<Int(Layout.headerOffset) + DynamicHeader.size
            var header = try DynamicHeader(decoding: Array(bytes[range]))
            change(&header)
            var encoded = header.encoded()
            if !validChecksum { encoded[36] ^= 0x5A }
            bytes.replaceSubrange(range, with: encoded)
        }
    }

    /// Sets BAT entry `block` (a sector number) in place.
    static func setBATEntry(_ path: String, block: Int, to sector: UInt32) throws {
        try edit(path) { bytes in
            let offset = Int(Layout.tableOffset) + 4 * block
            bytes.replaceSubrange(offset..<offset + 4, with: withUnsafeBytes(of: sector.bigEndian, Array.init))
        }
    }

    /// The BAT entry of `block`.
    static func batEntry(_ path: String, block: Int) throws -> UInt32 {
        try Disks.open(path).bat[block]
    }

    /// Points every blktap locator of the differencing disk at `path` to `reference` (written
    /// as blktap writes it) and the header's parent name to its last component.
    static func setLocators(_ path: String, to reference: String) throws {
        try edit(path) { bytes in
            let range = Int(Layout.headerOffset)..<Int(Layout.headerOffset) + DynamicHeader.size
            var header = try DynamicHeader(decoding: Array(bytes[range]))
            for (slot, locator) in header.usedLocators {
                guard let code = locator.platformCode else { continue }
                let payload = ParentLocator.encodePath(reference, as: code)
                let space = Int(locator.dataSpaceBytes ?? 512)
                precondition(payload.count <= space, "locator payload too long for the test")
                let start = Int(locator.dataOffset)
                bytes.replaceSubrange(start..<start + space, with: payload + [UInt8](repeating: 0, count: space - payload.count))
                header.locators[slot].dataLength = UInt32(payload.count)
            }
            header.parentName = reference.split(separator: "/").last.map(String.init) ?? reference
            bytes.replaceSubrange(range, with: header.encoded())
        }
    }

    /// Every regular file in `directory` with its bytes and modification time.
    static func snapshot(_ directory: String) throws -> [String: Disks.FileState] {
        var states: [String: Disks.FileState] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            let path = directory + "/" + name
            var isDirectory: ObjCBool = false
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                attributes[.type] as? FileAttributeType == .typeRegular
            else { continue }
            states[name] = try Disks.FileState(path)
        }
        return states
    }

    /// Opens `path` read-only and read-write (image and chain) and returns the error the
    /// read-only chain open threw; every open must fail with the same error, `Check` must call
    /// the image invalid (unless `checkFindsIt` is false: blktap's check looks at one image
    /// and is lenient where blktap is), and no file in the image's directory may change
    /// (bytes or modification time).
    static func refusal(
        _ path: String, resolver: any ParentResolver = FileParentResolver(), checkFindsIt: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> VHDError? {
        let directory = FileParentResolver.directory(of: path)
        let before = try snapshot(directory)
        var errors: [VHDError] = []
        for writable in [false, true] {
            do {
                let store = try FileBlockStore(path: path, readOnly: !writable)
                let image = try Image.open(store: store, name: path, options: writable ? .readWrite : .readOnly)
                _ = try Chain.open(leaf: image, resolver: resolver)
                Issue.record("\(path) opened (writable: \(writable)); expected a refusal", sourceLocation: sourceLocation)
            } catch let error as VHDError {
                errors.append(error)
            }
        }
        // blktap's `check` reads leniently, but must still call the image invalid.
        if checkFindsIt {
            let report = Check.image(at: path)
            #expect(!report.isValid, "check calls \(path) valid", sourceLocation: sourceLocation)
        }
        #expect(try snapshot(directory) == before, "refusing \(path) changed a file", sourceLocation: sourceLocation)
        if errors.count == 2 {
            #expect(errors[0] == errors[1], "read-only and read-write opens disagree", sourceLocation: sourceLocation)
        }
        return errors.first
    }

    /// The problem text of an `.invalid` error, nil for any other error.
    static func problem(_ error: VHDError?) -> String? {
        if case .invalid(_, let problem) = error { return problem }
        return nil
    }
}
