import ArgumentParser

/// xe-style `key=value` arguments (`name-label=Disk`, `device-config:path=/srv/sr`,
/// `virtual-size=10GiB`), parsed once per command against the keys it accepts. Keys with a
/// map prefix (`device-config:`, `sm-config:`) collect into maps.
struct Parameters {
    private(set) var values: [String: String] = [:]

    /// Parses `arguments`; each must be `key=value` with a key in `keys` or starting with one
    /// of `mapPrefixes`, given once.
    init(_ arguments: [String], keys: [String], mapPrefixes: [String] = []) throws {
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "=") else {
                throw ValidationError(
                    "expected key=value, got '\(argument)' (keys: \(Self.allowed(keys, mapPrefixes)))")
            }
            let key = String(argument[..<equals])
            let value = String(argument[argument.index(after: equals)...])
            let isMapKey = mapPrefixes.contains { key.hasPrefix($0) && key.count > $0.count }
            guard keys.contains(key) || isMapKey else {
                throw ValidationError("unknown parameter '\(key)' (keys: \(Self.allowed(keys, mapPrefixes)))")
            }
            guard values[key] == nil else { throw ValidationError("parameter '\(key)' given twice") }
            values[key] = value
        }
    }

    static func allowed(_ keys: [String], _ prefixes: [String]) -> String {
        (keys + prefixes.map { $0 + "<key>" }).joined(separator: ", ")
    }

    /// The value of `key`, nil when absent.
    subscript(_ key: String) -> String? { values[key] }

    /// The value of `key`, or a usage error naming it.
    func require(_ key: String) throws -> String {
        guard let value = values[key], !value.isEmpty else { throw ValidationError("missing parameter \(key)=…") }
        return value
    }

    /// Every `<prefix><name>=value` as `[name: value]`.
    func map(_ prefix: String) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in values where key.hasPrefix(prefix) { result[String(key.dropFirst(prefix.count))] = value }
        return result
    }

    /// A size (`10GiB`, `512MiB`, plain bytes), nil when absent.
    func size(_ key: String) throws -> UInt64? {
        guard let text = values[key] else { return nil }
        guard let bytes = ByteSize.parse(text) else {
            throw ValidationError("\(key)=\(text) is not a size: give bytes or a number with KiB, MiB, GiB or TiB")
        }
        return bytes
    }

    /// `true`/`false` (also `yes`/`no`, `1`/`0`), nil when absent.
    func flag(_ key: String) throws -> Bool? {
        guard let text = values[key] else { return nil }
        switch text.lowercased() {
        case "true", "yes", "1": return true
        case "false", "no", "0": return false
        default: throw ValidationError("\(key)=\(text) must be true or false")
        }
    }
}
