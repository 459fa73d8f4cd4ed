import Glibc

/// The process's arguments as the bytes `execve` passed, before Swift turns them into strings.
///
/// `CommandLine.arguments` replaces every byte sequence that is not UTF-8 with U+FFFD, so a
/// `name-label=$'\xff'` would silently become a label of "\u{FFFD}" and an XML-RPC document
/// with a stray 0xFF would parse. Both fronts read these bytes instead: the plugin hands the
/// document to the XML-RPC scanner, which refuses it with its byte offset, and the CLI refuses
/// any argument that is not UTF-8 before parsing it (`firstInvalid`).
enum RawArguments {
    /// One argument that is not UTF-8: its position in argv and the offset of its first bad byte.
    struct Invalid: Equatable, CustomStringConvertible {
        var index: Int
        var byteOffset: Int
        var bytes: [UInt8]

        var description: String {
            "argument \(index) (\(RawArguments.escaped(bytes))) is not valid UTF-8 at byte offset \(byteOffset) "
                + "(0x\(RawArguments.hex(bytes[byteOffset]))): names, descriptions and every key=value must be UTF-8"
        }
    }

    /// argv, argv[0] first, each argument's bytes without the terminating NUL.
    static func current() -> [[UInt8]] {
        (0..<Int(CommandLine.argc)).map { index in
            guard let argument = CommandLine.unsafeArgv[index] else { return [] }
            let length = strlen(argument)
            return argument.withMemoryRebound(to: UInt8.self, capacity: length) {
                Array(UnsafeBufferPointer(start: $0, count: length))
            }
        }
    }

    /// The first argument after argv[0] that is not strict UTF-8 (no overlong forms, surrogates
    /// or code points beyond U+10FFFF), nil when all are.
    static func firstInvalid(_ argv: [[UInt8]]) -> Invalid? {
        for (index, bytes) in argv.enumerated().dropFirst() {
            if let offset = firstInvalidOffset(bytes) { return Invalid(index: index, byteOffset: offset, bytes: bytes) }
        }
        return nil
    }

    /// The offset of the first byte of `bytes` that begins no valid UTF-8 sequence.
    static func firstInvalidOffset(_ bytes: [UInt8]) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// `bytes` as text, each byte of an invalid sequence as `\xFF`, for messages.
    static func escaped(_ bytes: [UInt8]) -> String {
        var text = ""
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                text.unicodeScalars.append(Unicode.UTF8.decode(encoded))
                offset += encoded.count
            case .emptyInput:
                return text
            case .error(let length):
                for byte in bytes[offset..<offset + length] { text += "\\x" + hex(byte) }
                offset += length
            }
        }
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }
}
