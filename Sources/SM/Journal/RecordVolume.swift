import BlockIO

/// The one volume a `VolumeRecordMedium` keeps its records in: opened, created and grown
/// through whatever holds it (a container's volume, or a store in a test).
public protocol RecordVolume: Sendable {
    /// Names the volume in messages.
    var name: String { get }
    /// The volume, open for writing; nil when it was never created.
    func open() throws(SRError) -> (any BlockStore)?
    /// Creates the volume with at least `size` bytes, `initialise`d before it takes its name:
    /// a crash never leaves a volume of that name holding what its extents held before.
    func create(size: UInt64, initialise: (any BlockStore) throws(SRError) -> Void) throws(SRError)
    /// Grows the volume to at least `size` bytes; the store from `open` then has the new size.
    func grow(to size: UInt64) throws(SRError)
}

/// The records volume of a container (`VolumeNaming.records`), sized in the container's units.
public struct ContainerRecordVolume: RecordVolume {
    public let container: any VolumeContainer
    public let volume: String

    public init(container: any VolumeContainer, volume: String = VolumeNaming.records) {
        self.container = container
        self.volume = volume
    }

    public var name: String { "\(container.name)/\(volume)" }

    public func open() throws(SRError) -> (any BlockStore)? {
        guard container.exists(volume) else { return nil }
        return try EngineFailure.volume(.metadataError) { () throws(VolumeError) in
            try container.open(volume, writable: true)
        }
    }

    public func create(size: UInt64, initialise: (any BlockStore) throws(SRError) -> Void) throws(SRError) {
        let staging = VolumeNaming.staging(volume)
        let store = try EngineFailure.volume(.metadataError) { () throws(VolumeError) in
            if container.exists(staging) { try container.remove(staging) }
            return try container.create(staging, size: container.provisioning.rounded(size), tags: [])
        }
        try initialise(store)
        try EngineFailure.volume(.metadataError) { () throws(VolumeError) in
            try container.rename(staging, to: volume)
            try container.sync()
        }
    }

    public func grow(to size: UInt64) throws(SRError) {
        try EngineFailure.volume(.metadataError) { () throws(VolumeError) in
            try container.resize(volume, to: container.provisioning.rounded(size))
        }
    }
}
