/// Typed-throws access to an array's bytes: the standard library's `withUnsafe…Bytes` only
/// rethrows untyped errors.
extension Array where Element == UInt8 {
    mutating func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(VHDError) -> R) throws(VHDError) -> R {
        let result: Result<R, VHDError> = withUnsafeMutableBytes { (buffer) -> Result<R, VHDError> in
            do throws(VHDError) { return .success(try body(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(VHDError) -> R) throws(VHDError) -> R {
        let result: Result<R, VHDError> = withUnsafeBytes { (buffer) -> Result<R, VHDError> in
            do throws(VHDError) { return .success(try body(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
