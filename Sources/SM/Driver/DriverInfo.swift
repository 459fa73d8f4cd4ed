/// What a driver tells the toolstack about itself: SM's `DRIVER_INFO`, returned by
/// `sr_get_driver_info` (SMAPI.md §1.5, §2). xapi registers the driver under the lower-cased
/// name of its `<Type>SR` executable and only calls the commands its capabilities name.
public struct DriverInfo: Hashable, Sendable {
    /// One `device-config` key the driver reads, with the help text xapi shows.
    public struct ConfigurationKey: Hashable, Sendable {
        public var key: String
        public var description: String

        public init(_ key: String, _ description: String) {
            self.key = key
            self.description = description
        }
    }

    /// The human name (`Local EXT3 VHD`).
    public var name: String
    public var description: String
    public var vendor: String
    public var copyright: String
    /// `driver_version`, `1.0` for every reference driver.
    public var driverVersion: String
    /// `required_api_version`, `1.0` for every reference driver.
    public var requiredAPIVersion: String
    /// Capability names in the reference's order, `NAME` or `NAME/<version>` (`VDI_RESET_ON_BOOT/2`).
    public var capabilities: [String]
    /// The `device-config` keys, in the reference's order.
    public var configuration: [ConfigurationKey]

    public init(
        name: String, description: String, vendor: String, copyright: String, driverVersion: String = "1.0",
        requiredAPIVersion: String = "1.0", capabilities: [String], configuration: [ConfigurationKey]
    ) {
        self.name = name
        self.description = description
        self.vendor = vendor
        self.copyright = copyright
        self.driverVersion = driverVersion
        self.requiredAPIVersion = requiredAPIVersion
        self.capabilities = capabilities
        self.configuration = configuration
    }

    /// Whether the driver advertises `capability` (any version of it).
    public func has(_ capability: String) -> Bool {
        capabilities.contains { $0 == capability || $0.hasPrefix(capability + "/") }
    }
}
