import Glibc

/// A heap buffer whose address is a multiple of an alignment, for `O_DIRECT` transfers.
///
/// The corresponding C function is `posix_memalign`; `deinit` frees the memory. The buffer
/// is owned by one call at a time and never shared between threads.
final class AlignedBuffer {
    /// The memory, `count` bytes long, zero-filled when allocated.
    let bytes: UnsafeMutableRawBufferPointer

    /// Allocates `count` bytes aligned to `alignment` (a power of two, a multiple of the
    /// pointer size).
    init(count: Int, alignment: Int, path: String) throws(BlockIOError) {
        var pointer: UnsafeMutableRawPointer?
        let result = posix_memalign(&pointer, alignment, max(count, 1))
        guard result == 0, let pointer else {
            throw .system(call: "posix_memalign", errno: result == 0 ? ENOMEM : result, path: path)
        }
        bytes = UnsafeMutableRawBufferPointer(start: pointer, count: count)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        free(bytes.baseAddress)
    }
}
