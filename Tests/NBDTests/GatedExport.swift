import Dispatch

@testable import NBD

/// An export whose reads at offset 0 wait until the test opens the gate: a request that stays
/// in flight for as long as a test needs. Other reads return 0x5A bytes at once.
final class GatedExport: NBDExport, Sendable {
    let size: UInt64 = 1 << 20
    let isReadOnly = false
    /// Signalled when a gated read has started; waited on to open the gate.
    let started = DispatchSemaphore(value: 0)
    let gate = DispatchSemaphore(value: 0)

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(NBDError) {
        if offset == 0 {
            started.signal()
            gate.wait()
        }
        buffer.initializeMemory(as: UInt8.self, repeating: 0x5A)
    }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(NBDError) {}
    func flush() throws(NBDError) {}
    func trim(_ range: Range<UInt64>) throws(NBDError) {}
    func writeZeroes(_ range: Range<UInt64>, keepAllocated: Bool) throws(NBDError) {}
    func blockStatus(_ range: Range<UInt64>) throws(NBDError) -> [Extent] {
        [Extent(length: UInt32(range.count), flags: [])]
    }
}
