#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a multi-step operation (snapshot, clone, resize, revert, coalesce, …) is about to do,
/// written to the SR's `IntentJournal` before its first step, so the next load of the SR can
/// roll it forward or back from the last step it reached.
///
/// Stored as JSON with the keys `id`, `kind`, `vdi_uuid`, `parameters`, `created` (seconds
/// since 2001-01-01 UTC, Foundation's reference date) and `step`.
public struct Intent: Codable, Hashable, Sendable, Identifiable {
    /// Unique within the SR; becomes part of a file name (letters, digits, `-` and `_`).
    public var id: String
    /// The operation: `snapshot`, `clone`, `resize`, `revert`, `coalesce`, …
    public var kind: String
    /// The VDI the operation is on.
    public var vdiUUID: String
    /// What recovery needs to know (new uuids, old and new sizes, volume names).
    public var parameters: [String: String]
    /// When the intent was begun; `pending()` lists intents in this order.
    public var created: Date
    /// The last step reached, named by the operation (`begun`, `base-linked`, `leaf-created`, …).
    public var step: String

    /// The step every intent starts at.
    public static let initialStep = "begun"

    /// An intent; `id` defaults to a new uuid and `created` to now.
    public init(
        id: String = Identifier.newUUID(), kind: String, vdiUUID: String, parameters: [String: String] = [:],
        created: Date = Date(), step: String = Intent.initialStep
    ) {
        self.id = id
        self.kind = kind
        self.vdiUUID = vdiUUID
        self.parameters = parameters
        self.created = created
        self.step = step
    }

    private enum CodingKeys: String, CodingKey {
        case id
        case kind
        case vdiUUID = "vdi_uuid"
        case parameters
        case created
        case step
    }

    /// Whether `id` can name an intent file: 1 to 128 ASCII letters, digits, `-` or `_`.
    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128
            && id.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
    }
}
