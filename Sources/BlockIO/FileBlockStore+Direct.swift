import Glibc

/// Bounce buffering for `O_DIRECT`: transfers whose offset, length or buffer address is not
/// aligned go through an aligned buffer, a window of at most `bounceWindow` bytes at a time.
extension FileBlockStore {
    /// The most bytes one bounce window covers.
    static let bounceWindow = 1 << 20

    private var alignment: UInt64 { UInt64(Syscalls.directAlignment) }

    /// Whether a transfer must be bounced: the file is direct and something is unaligned.
    func needsBounce(offset: UInt64, count: Int, address: UnsafeRawPointer?) -> Bool {
        guard isDirect else { return false }
        let mask = UInt64(Syscalls.directAlignment - 1)
        let addressBits = UInt64(UInt(bitPattern: address))
        return (offset | UInt64(count) | addressBits) & mask != 0
    }

    /// Reads through aligned windows and copies the wanted bytes out. Call with `lock` held.
    /// The corresponding C function is `pread`.
    func bouncedRead(
        _ descriptor: Int32,
        into buffer: UnsafeMutableRawBufferPointer,
        at offset: UInt64
    ) throws(BlockIOError) {
        let end = offset + UInt64(buffer.count)
        let bounce = try bounceBuffer(offset: offset, end: end)
        var position = offset
        while position < end {
            let windowStart = alignDown(position)
            let windowEnd = min(windowStart + UInt64(bounce.bytes.count), alignUp(end))
            let pieceEnd = min(end, windowEnd)
            let window = UnsafeMutableRawBufferPointer(rebasing: bounce.bytes[0..<Int(windowEnd - windowStart)])
            let got = try Syscalls.readFully(descriptor, into: window, at: windowStart, path: path)
            let needed = Int(pieceEnd - windowStart)
            if got < needed {
                throw .shortRead(
                    store: name,
                    offset: position,
                    expected: Int(pieceEnd - position),
                    got: max(0, got - Int(position - windowStart))
                )
            }
            let source = UnsafeRawBufferPointer(rebasing: bounce.bytes[Int(position - windowStart)..<needed])
            UnsafeMutableRawBufferPointer(rebasing: buffer[Int(position - offset)...]).copyMemory(from: source)
            position = pieceEnd
        }
    }

    /// Writes through aligned windows, reading back the partly covered first and last blocks
    /// of each window (read-modify-write), then trims the file back to the size the write
    /// implies. Call with `lock` held exclusively. The corresponding C functions are `pread`,
    /// `pwrite` and `ftruncate`.
    func bouncedWrite(
        _ descriptor: Int32,
        _ bytes: UnsafeRawBufferPointer,
        at offset: UInt64,
        sizeBefore: UInt64
    ) throws(BlockIOError) {
        let end = offset + UInt64(bytes.count)
        let bounce = try bounceBuffer(offset: offset, end: end)
        var position = offset
        var writtenEnd = offset
        while position < end {
            let windowStart = alignDown(position)
            let windowEnd = min(windowStart + UInt64(bounce.bytes.count), alignUp(end))
            let pieceEnd = min(end, windowEnd)
            if position != windowStart {
                try readBlock(descriptor, into: bounce, at: 0, fileOffset: windowStart)
            }
            let lastBlock = alignDown(pieceEnd)
            if pieceEnd != lastBlock && (lastBlock != windowStart || position == windowStart) {
                try readBlock(descriptor, into: bounce, at: Int(lastBlock - windowStart), fileOffset: lastBlock)
            }
            let source = UnsafeRawBufferPointer(rebasing: bytes[Int(position - offset)..<Int(pieceEnd - offset)])
            UnsafeMutableRawBufferPointer(rebasing: bounce.bytes[Int(position - windowStart)...]).copyMemory(
                from: source
            )
            let window = UnsafeRawBufferPointer(rebasing: bounce.bytes[0..<Int(windowEnd - windowStart)])
            try Syscalls.writeFully(descriptor, window, at: windowStart, path: path)
            writtenEnd = windowEnd
            position = pieceEnd
        }
        let newSize = max(sizeBefore, end)
        if writtenEnd > newSize && !isBlockDevice {
            try Syscalls.truncate(descriptor, to: newSize, path: path)
        }
    }

    /// Reads the aligned block at `fileOffset` into `buffer` at `position`, zero-filling what
    /// lies past the end of the file.
    private func readBlock(
        _ descriptor: Int32,
        into buffer: AlignedBuffer,
        at position: Int,
        fileOffset: UInt64
    ) throws(BlockIOError) {
        let block = UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[position..<position + Int(alignment)])
        let got = try Syscalls.readFully(descriptor, into: block, at: fileOffset, path: path)
        UnsafeMutableRawBufferPointer(rebasing: block[got...]).initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// A bounce buffer for a transfer over `offset ..< end`: the aligned span, at most one window.
    private func bounceBuffer(offset: UInt64, end: UInt64) throws(BlockIOError) -> AlignedBuffer {
        let count = Int(min(UInt64(Self.bounceWindow), alignUp(end) - alignDown(offset)))
        return try AlignedBuffer(count: count, alignment: Syscalls.directAlignment, path: path)
    }

    private func alignDown(_ value: UInt64) -> UInt64 { value & ~(alignment - 1) }
    private func alignUp(_ value: UInt64) -> UInt64 { alignDown(value + alignment - 1) }
}
