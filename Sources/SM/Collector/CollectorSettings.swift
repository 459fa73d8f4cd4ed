/// What an SR lets its collector do, from its other-config and sm-config as the reference reads
/// them: `gc=false` stops the collector altogether, `coalesce=false` every coalesce, and
/// `leaf-coalesce=false` the coalesce of leaves (a VDI's own `leaf-coalesce=false` spares that
/// VDI alone).
public struct CollectorSettings: Sendable, Equatable {
    public var collect = true
    public var coalesce = true
    public var leafCoalesce = true

    public init(collect: Bool = true, coalesce: Bool = true, leafCoalesce: Bool = true) {
        self.collect = collect
        self.coalesce = coalesce
        self.leafCoalesce = leafCoalesce
    }

    /// The settings `sr` carries.
    public init(sr: SRRecord) {
        func disabled(_ key: String) -> Bool {
            [sr.otherConfig[key], sr.smConfig[key]].contains { $0?.lowercased() == "false" }
        }
        self.init(collect: !disabled("gc"), coalesce: !disabled("coalesce"), leafCoalesce: !disabled("leaf-coalesce"))
    }
}
