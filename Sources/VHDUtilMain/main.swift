import Glibc
import VHDUtilCommands

// `vhd-util`: everything lives in VHDUtilCommands so that it runs (and is tested) in process.
let status = VHDUtil.run(
    arguments: Array(CommandLine.arguments.dropFirst()),
    stdout: FileDescriptorOutput(descriptor: 1, buffered: true),
    stderr: FileDescriptorOutput(descriptor: 2, buffered: false))
exit(status)
