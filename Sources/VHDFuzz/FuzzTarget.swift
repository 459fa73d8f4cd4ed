import BlockIO
import Glibc
import VHD
import VHDFormat

/// The libFuzzer entry point: one input, treated as a VHD file.
///
/// libFuzzer calls it with each generated input; the replay tool (`Replay.swift`) calls it with
/// the bytes of each file named on its command line. It returns 0 always: a bug shows up as a
/// crash, a sanitizer report, a hang (libFuzzer's `-timeout`) or a broken invariant, which traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    FuzzInput.decodeStructures(bytes)
    FuzzInput.openAndRead(bytes)
    FuzzInput.openChain(bytes)
    FuzzInput.writeAndReopen(bytes)
    FuzzInput.check(bytes)
    return 0
}

/// The steps one fuzz input goes through. Every step may fail with a typed error; none may
/// crash, hang, or read outside the input.
enum FuzzInput {
    /// How much of the virtual disk the walk covers at each end: enough blocks to reach every
    /// bitmap a small input can hold, never so many that a huge, sparse disk makes the walk slow.
    static let walkedBlocks: UInt64 = 256

    /// Decodes each structure straight from where a VHD keeps it (and from the input's end),
    /// validates it, and round-trips it through `encoded()`.
    static func decodeStructures(_ bytes: [UInt8]) {
        for offset in [0, max(0, bytes.count - Footer.size)] where bytes.count - offset >= Footer.size {
            if let footer = try? Footer(decoding: Array(bytes[offset..<offset + Footer.size])) {
                _ = footer.isChecksumValid
                _ = footer.diskType
                _ = footer.creatorApplicationText
                _ = footer.geometry.byteCount
                var decoded = try? Footer(decoding: footer.encoded())
                decoded?.storedChecksum = footer.storedChecksum
                require(decoded == footer, "footer does not survive encode → decode")
            }
        }
        let headerOffset = Int(Layout.headerOffset)
        guard bytes.count >= headerOffset + DynamicHeader.size else { return }
        let footer = try? Footer(decoding: Array(bytes[0..<Footer.size]))
        if let header = try? DynamicHeader(decoding: Array(bytes[headerOffset..<headerOffset + DynamicHeader.size])) {
            var decoded = try? DynamicHeader(decoding: header.encoded())
            require(decoded?.isChecksumValid == true, "an encoded header fails its own checksum")
            decoded?.storedChecksum = header.storedChecksum
            require(decoded == header, "header does not survive encode → decode")
            _ = header.parentName
            _ = header.bitmapSize
            // Layout arithmetic assumes a validated header (offsets within the file), as the engine
            // only ever uses it after `HeaderValidation`.
            var isValid = false
            if let footer {
                isValid = HeaderValidation.firstProblem(header, footer: footer, storeSize: UInt64(bytes.count)) == nil
            }
            for (_, locator) in header.usedLocators {
                _ = locator.dataSpaceBytes
                let start = Int(clamping: locator.dataOffset)
                let length = Int(min(UInt64(locator.dataLength), 4096))
                if start < bytes.count {
                    _ = locator.decodePath(Array(bytes[start..<min(bytes.count, start + length)]))
                }
            }
            let batmapOffset = isValid ? Int(clamping: Layout.batmapHeaderOffset(header: header)) : bytes.count
            if batmapOffset < bytes.count, bytes.count - batmapOffset >= BatmapHeader.size,
                let batmap = try? BatmapHeader(decoding: Array(bytes[batmapOffset..<batmapOffset + BatmapHeader.size]))
            {
                _ = BatmapValidation.firstProblem(batmap, header: header, storeSize: UInt64(bytes.count))
                require(
                    (try? BatmapHeader(decoding: batmap.encoded())) == batmap,
                    "batmap header does not survive encode → decode")
            }
        }
        for slot in 0..<DynamicHeader.locatorCount {
            let start = headerOffset + 576 + slot * ParentLocator.entrySize
            let locator = ParentLocator(decoding: Array(bytes[start..<start + ParentLocator.entrySize]))
            require(ParentLocator(decoding: locator.encoded()) == locator, "locator does not survive encode → decode")
            _ = locator.decodePath(Array(bytes.suffix(64)))
        }
    }

    /// Opens the input read-only, walks the extents at both ends of the virtual disk, reads a
    /// few sectors through a one-layer chain, and lists the allocated ranges.
    static func openAndRead(_ bytes: [UInt8]) {
        let store = MemoryBlockStore(name: "fuzz.vhd", bytes: bytes)
        guard let image = try? Image.open(store: store, options: .readOnly) else { return }
        let size = image.virtualSize
        let span = image.diskType == .fixed ? UInt64(1 << 20) : image.blockSize * walkedBlocks
        for range in [0..<min(size, span), (size - min(size, span))..<size] {
            guard let extents = try? image.extents(in: range) else { continue }
            var expected = range.lowerBound
            for extent in extents {
                require(extent.range.lowerBound == expected && !extent.range.isEmpty, "extents leave a gap")
                expected = extent.range.upperBound
            }
            require(extents.isEmpty ? range.isEmpty : expected == range.upperBound, "extents do not cover the range")
        }
        if image.isDifferencing { _ = try? ParentLocation.reference(of: image) }
        let chain = Chain(layers: [image])
        var sector = [UInt8](repeating: 0, count: 4096)
        for offset in [0, size / 2, size &- 4096, size &- 1] where offset < size {
            let count = Int(min(UInt64(sector.count), size - offset))
            sector.withUnsafeMutableBytes { buffer in
                _ = try? chain.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<count]), at: offset)
            }
        }
        if image.diskType != .fixed || size <= 1 << 24 {
            _ = try? chain.allocatedRanges()
        }
    }

    /// Opens a copy read-write, writes the first and last sectors, and checks that a fresh open
    /// of the result reads them back: a write the engine accepts must leave a valid image.
    static func writeAndReopen(_ bytes: [UInt8]) {
        let store = MemoryBlockStore(name: "fuzz.vhd", bytes: bytes)
        guard let image = try? Image.open(store: store, options: .readWrite) else { return }
        let size = image.virtualSize
        guard size >= sectorSize else { return }
        let pattern = [UInt8](repeating: 0xA5, count: Int(sectorSize))
        var written: [UInt64] = []
        for offset in [0, (size / sectorSize - 1) * sectorSize] {
            let ok = pattern.withUnsafeBytes { buffer in (try? image.write(buffer, at: offset)) != nil }
            if ok { written.append(offset) }
        }
        guard !written.isEmpty else { return }
        let reopened: Image
        do { reopened = try Image.open(store: store, options: .readOnly) } catch {
            fail("write left an image that does not open: \(error)")
        }
        var back = [UInt8](repeating: 0, count: Int(sectorSize))
        for offset in written {
            back.withUnsafeMutableBytes { buffer in
                do { try reopened.readPresent(into: buffer, at: offset) } catch {
                    fail("written sector at \(offset) does not read back: \(error)")
                }
            }
            require(back == pattern, "written sector at \(offset) reads back different bytes")
        }
    }

    /// A scratch file for the checks that work on paths (blktap's `check` is lenient by design
    /// and reads what `Image.open` would refuse), in shared memory where there is some.
    static let scratchPath: String = {
        let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        return "\(directory)/vhd-fuzz-\(getpid()).vhd"
    }()

    /// Runs `vhd-util check`'s engine over the input as a file: with data and statistics
    /// checks, and again trusting the backup footer.
    static func check(_ bytes: [UInt8]) {
        let path = scratchPath
        guard let store = try? FileBlockStore.create(path: path, mode: .truncate) else { return }
        defer {
            store.close()
            unlink(path)
        }
        guard (try? store.write(bytes, at: 0)) != nil else { return }
        var options = Check.Options(now: 0x2000_0000)
        options.checkData = true
        options.collectStatistics = true
        _ = Check.image(at: path, options: options)
        options = Check.Options(now: 0x2000_0000)
        options.ignoreFooter = true
        options.ignoreTimestamps = true
        _ = Check.image(at: path, options: options)
        _ = Check.parent(of: path)
    }

    static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fail(message()) }
    }

    static func fail(_ message: String) -> Never {
        // A broken invariant must stop the fuzzer like a crash does, so libFuzzer saves the input.
        fatalError("VHDFuzz invariant: \(message)")
    }
}
