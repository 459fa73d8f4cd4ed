/// Bounds on what the decoder accepts, so a hostile document costs bounded time and memory.
///
/// The defaults fit SMAPIv1 traffic with a wide margin: a request is one command-line argument,
/// which Linux caps at 128 KiB (`MAX_ARG_STRLEN`), and nests about a dozen elements deep.
public struct XMLRPCLimits: Hashable, Sendable {
    /// The most bytes of UTF-8 a document may have.
    public var maxBytes: Int
    /// The deepest element nesting accepted; clamped to `hardMaximumDepth`.
    public var maxDepth: Int {
        get { storedMaxDepth }
        set { storedMaxDepth = min(max(newValue, 1), Self.hardMaximumDepth) }
    }
    /// The most elements a document may have.
    public var maxElements: Int

    private var storedMaxDepth: Int

    /// Limits; `maxDepth` is clamped to `1...hardMaximumDepth`.
    public init(maxBytes: Int = 4 << 20, maxDepth: Int = 256, maxElements: Int = 250_000) {
        self.maxBytes = maxBytes
        self.storedMaxDepth = min(max(maxDepth, 1), Self.hardMaximumDepth)
        self.maxElements = maxElements
    }

    /// 4 MiB, 256 levels, 250,000 elements.
    public static let `default` = XMLRPCLimits()

    /// The decoder descends one call per element level, so depth has a ceiling no setting lifts.
    public static let hardMaximumDepth = 1_024
}
