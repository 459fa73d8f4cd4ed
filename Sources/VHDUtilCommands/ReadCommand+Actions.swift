import BlockIO
import VHD
import VHDFormat

extension ReadCommand {
    /// The `read` actions other than `-p`, each returning 0 or a positive errno, with blktap's
    /// range checks and messages (`vhd/lib/vhd-util-read.c`).
    struct Actions {
        let image: Image.Libvhd
        let bat: [UInt32]
        let hex: Bool
        let count: Int32
        let console: Console

        static let unused = BlockAllocationTable.unused

        func conv(_ value: UInt64) -> String { hex ? CFormat.alternateHex(value) : String(value) }

        /// `count` as blktap adds it to a 64-bit position (sign-extended).
        var count64: UInt64 { UInt64(bitPattern: Int64(count)) }
        var loopCount: Int { max(0, Int(count)) }
        var currentSize: UInt64 { image.footer.currentSize }
        var maxTableEntries: UInt64 { UInt64(image.header?.maxTableEntries ?? 0) }

        func entry(_ block: UInt64) -> UInt32 { block < UInt64(bat.count) ? bat[Int(block)] : Self.unused }

        /// blktap's `check_block_range`: `BLK + count` beyond the BAT is an error on stderr.
        func blockRangeError(_ block: UInt64) -> Int32? {
            guard block &+ count64 > maxTableEntries else { return nil }
            console.printError("block \(conv(block &+ count64)) past end of file")
            return Errno.range
        }

        func sectorsPastEnd(_ sector: UInt64) -> Bool { (sector &+ count64) &<< 9 > currentSize }

        /// Sectors per block; blktap divides by it, so a header block size under 512 cannot be used.
        func sectorsPerBlock() -> UInt64? {
            let spb = image.sectorsPerBlock
            return spb == 0 ? nil : spb
        }

        /// `-t SEC`: where each logical sector lives (blktap assumes a one-sector bitmap).
        func translate(sector: UInt64) -> Int32 {
            if sectorsPastEnd(sector) {
                console.printError("sector \(conv(sector &+ count64)) past end of file")
                return Errno.range
            }
            guard let spb = sectorsPerBlock() else { return Errno.invalid }
            for index in 0..<loopCount {
                let current = sector + UInt64(index)
                let block = UInt64(UInt32(truncatingIfNeeded: current / spb))
                let within = current % spb
                let offset = entry(block)
                let location = offset == Self.unused ? "not allocated" : conv((UInt64(offset) + within + 1) << 9)
                console.print(
                    "logical sector \(conv(current)): block number: \(conv(block)), sector offset: \(conv(within)), file offset: \(location)"
                )
            }
            return 0
        }

        /// `-b BLK`: BAT entries as byte offsets.
        func printBAT(block: UInt64) -> Int32 {
            if let error = blockRangeError(block) { return error }
            for index in 0..<min(loopCount, bat.count) {
                let current = block + UInt64(index)
                let offset = entry(current)
                console.print(
                    "block: \(conv(current)): offset: \(offset == Self.unused ? "not allocated" : conv(UInt64(offset) << 9))"
                )
            }
            return 0
        }

        /// `-B`: one bit per block, set when allocated, MSB first, as raw bytes.
        func printBATBitmap() -> Int32 {
            guard let header = image.header, header.blockSize > 0 else { return Errno.invalid }
            let total = Int(Int32(truncatingIfNeeded: currentSize / UInt64(header.blockSize)))
            guard total >= 0 else { return Errno.invalid }
            var bitmap = [UInt8](repeating: 0, count: (total + 7) / 8)
            for block in 0..<total where entry(UInt64(block)) != Self.unused {
                bitmap[block >> 3] |= 0x80 >> UInt8(block & 7)
            }
            bitmap.withUnsafeBytes { console.out.writeUnbuffered($0) }
            return 0
        }

        /// `-m BLK`: raw sector bitmaps.
        func printBitmap(block: UInt64) -> Int32 {
            printAllocated(from: block) { (index) throws(VHDError) in try image.readBitmap(block: index) }
        }

        /// For `loopCount` blocks from `block`: `read`'s bytes raw on stdout, or "not allocated".
        private func printAllocated(from block: UInt64, _ read: (Int) throws(VHDError) -> [UInt8]) -> Int32 {
            if let error = blockRangeError(block) { return error }
            for index in 0..<loopCount {
                let current = block + UInt64(index)
                if entry(current) == Self.unused {
                    console.print("block \(conv(current)) not allocated")
                    continue
                }
                do {
                    let bytes = try read(Int(current))
                    bytes.withUnsafeBytes { console.out.writeUnbuffered($0) }
                } catch {
                    return error.errno
                }
            }
            return 0
        }

        /// The bit of each sector in `count` sectors from `sector`, reading each block's bitmap once.
        func sectorBits(from sector: UInt64, spb: UInt64, _ body: (UInt64, UInt64, UInt64, Bool) -> Void) -> Int32 {
            var cachedBlock: UInt64?
            var cachedBitmap: [UInt8]?
            for index in 0..<loopCount {
                let current = sector + UInt64(index)
                let block = UInt64(UInt32(truncatingIfNeeded: current / spb))
                let within = current % spb
                if block != cachedBlock {
                    cachedBlock = block
                    cachedBitmap = nil
                    if entry(block) != Self.unused {
                        do { cachedBitmap = try image.readBitmap(block: Int(block)) } catch { return error.errno }
                    }
                }
                var bit = false
                if let cachedBitmap, entry(block) != Self.unused {
                    bit = cachedBitmap[Int(within >> 3)] & (0x80 >> UInt8(within & 7)) != 0
                }
                body(current, block, within, bit)
            }
            return 0
        }

        /// `-i SEC`: each sector's bitmap bit.
        func testBitmap(sector: UInt64) -> Int32 {
            if sectorsPastEnd(sector) {
                console.print("sector \(conv(sector)) past end of file")
                return Errno.range
            }
            guard let spb = sectorsPerBlock() else { return Errno.invalid }
            return sectorBits(from: sector, spb: spb) { _, block, within, bit in
                console.print("block \(conv(block)): sec: \(conv(within)): \(bit ? 1 : 0)")
            }
        }

        /// `-e SEC`: runs of set bits as `start count` lines.
        func printExtents(sector: UInt64) -> Int32 {
            if sectorsPastEnd(sector) {
                console.print("sector \(conv(sector)) past end of file")
                return Errno.range
            }
            guard let spb = sectorsPerBlock() else { return Errno.invalid }
            var start: UInt64 = 0
            var run: UInt64 = 0
            let status = sectorBits(from: sector, spb: spb) { current, _, _, bit in
                if bit {
                    if run == 0 { start = current }
                    run += 1
                } else {
                    if run > 0 { console.print("\(conv(start)) \(conv(run))") }
                    run = 0
                }
            }
            if status != 0 { return status }
            if run > 0 { console.print("\(conv(start)) \(conv(run))") }
            return 0
        }

        /// `-a`: the raw batmap.
        func printBatmap() -> Int32 {
            let batmap: (header: BatmapHeader, map: [UInt8])
            do { batmap = try image.batmap() } catch {
                console.print("failed to read batmap: -\(error.errno)")
                return error.errno
            }
            let size = Int(batmap.header.mapSectors) * 512
            var bytes = (try? image.image.store.read(count: size, at: batmap.header.mapOffset)) ?? batmap.map
            if bytes.count < size { bytes += [UInt8](repeating: 0, count: size - bytes.count) }
            bytes.withUnsafeBytes { console.out.writeUnbuffered($0) }
            return 0
        }

        /// `-j BLK`: each block's batmap bit, on standard error.
        func testBatmap(block: UInt64) -> Int32 {
            if let error = blockRangeError(block) { return error }
            let batmap: (header: BatmapHeader, map: [UInt8])
            do { batmap = try image.batmap() } catch {
                console.printError("failed to get batmap")
                return error.errno
            }
            for index in 0..<loopCount {
                let current = block + UInt64(index)
                let full = Image.Libvhd.batmapTest(batmap, block: current)
                console.printError("batmap for block \(conv(current)): \(full ? 1 : 0)")
            }
            return 0
        }

        /// `-d BLK`: raw block data.
        func printData(block: UInt64) -> Int32 {
            printAllocated(from: block) { (index) throws(VHDError) in try image.readBlock(block: index) }
        }

        /// `-r SEC`: `count` sectors read through the chain, in pieces of at most 2 MiB.
        func readSectors(at sector: UInt64) -> Int32 {
            guard !sectorsPastEnd(sector) else { return Errno.range }
            return readChain(offset: sector << 9, byteCount: UInt64(loopCount) << 9)
        }

        /// `-R BYTE`: `count` bytes read through the chain.
        func readBytes(at offset: UInt64) -> Int32 {
            guard offset &+ count64 <= currentSize else { return Errno.range }
            return readChain(offset: offset, byteCount: UInt64(loopCount))
        }

        func readChain(offset: UInt64, byteCount: UInt64) -> Int32 {
            guard byteCount > 0 else { return 0 }
            do {
                let store = try FileBlockStore(path: image.path, readOnly: true)
                let leaf = try Image.open(store: store, name: image.path, options: .init(ignoreDisabled: true))
                let chain = try Chain.open(leaf: leaf, resolver: FileParentResolver())
                var done: UInt64 = 0
                var buffer = [UInt8](repeating: 0, count: Int(min(byteCount, 2 << 20)))
                while done < byteCount {
                    let piece = Int(min(UInt64(buffer.count), byteCount - done))
                    var readError: VHDError?
                    let position = offset + done
                    buffer.withUnsafeMutableBytes { bytes in
                        do throws(VHDError) {
                            try chain.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[..<piece]), at: position)
                        } catch {
                            readError = error
                        }
                    }
                    if let readError { throw readError }
                    buffer.withUnsafeBytes {
                        console.out.writeUnbuffered(UnsafeRawBufferPointer(rebasing: $0[..<piece]))
                    }
                    done += UInt64(piece)
                }
                return 0
            } catch let error as VHDError {
                console.log(error)
                return error.errno
            } catch let error as BlockIOError {
                console.log(error)
                return error.errno
            } catch {
                return Errno.io
            }
        }
    }
}
