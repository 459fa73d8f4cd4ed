#if FUZZING
/// With `-sanitize=fuzzer`, libFuzzer runs the show. SwiftPM links an executable target with
/// `main` aliased to `VHDFuzz_main` (the renamed entry point of an `@main` type, so tests could
/// import executables), which would hide libFuzzer's own `main`; this function is that entry
/// point and hands control to libFuzzer's driver with our `LLVMFuzzerTestOneInput`.
@_cdecl("VHDFuzz_main")
public func fuzzerMain(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
) -> Int32 {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    // A closure, not `fuzz` itself: naming the `@_cdecl` function here would emit its C symbol
    // a second time in this file.
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzz(data, size) }
}

/// libFuzzer's driver (`FuzzerInterface.h`, LLVM 11 and later): parses libFuzzer's flags from
/// `argv` and runs `callback` on every input.
@_extern(c, "LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32
#endif
