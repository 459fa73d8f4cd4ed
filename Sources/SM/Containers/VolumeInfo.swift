/// A volume as listed.
public struct VolumeInfo: Hashable, Sendable {
    public var name: String
    public var size: UInt64
    /// LV tags (`journaler`, `jvhd`, `hidden`, …); empty where volumes carry none.
    public var tags: Set<String>

    public init(name: String, size: UInt64, tags: Set<String> = []) {
        self.name = name
        self.size = size
        self.tags = tags
    }
}
