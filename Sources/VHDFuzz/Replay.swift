#if !FUZZING
import Foundation

/// Without libFuzzer (a plain `swift build`), `vhd-fuzz` replays inputs: it runs the fuzz entry
/// point over each file named on the command line (a crash reproducer, a corpus), so a finding
/// can be reproduced and debugged without the instrumented build.
@main
enum Replay {
    static func main() {
        let paths = CommandLine.arguments.dropFirst()
        if paths.first == "--write-seeds", paths.count == 2, let directory = paths.last {
            do { try Seeds.write(to: directory) } catch {
                print("writing seeds to \(directory) failed: \(error)")
                exit(1)
            }
            return
        }
        if paths.isEmpty || paths.first?.hasPrefix("-") == true {
            print("usage: vhd-fuzz FILE|DIRECTORY...  run the VHD fuzz target over each input")
            print("       vhd-fuzz --write-seeds DIRECTORY  write a seed corpus of small VHDs")
            print("(built with -DFUZZING and -sanitize=fuzzer, vhd-fuzz is the libFuzzer harness instead)")
            return
        }
        var failed = false
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                print("\(path): no such file")
                failed = true
                continue
            }
            let files =
                isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { "\(path)/\($0)" }
                : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else {
                    print("\(file): unreadable")
                    failed = true
                    continue
                }
                let bytes = [UInt8](data)
                _ = bytes.withUnsafeBufferPointer { buffer in
                    fuzz(buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!, buffer.count)
                }
                print("\(file): ok (\(bytes.count) bytes)")
            }
        }
        if failed { exit(1) }
    }
}
#endif
