/// One XML-RPC value: the spec's scalar types, `nil` (the common extension Python writes with
/// `allow_none=True`), and arrays and structs of values.
///
/// Structs keep their members in document order: Python writes a dict's members in insertion
/// order, and byte-exact replies depend on it.
public enum XMLRPCValue: Hashable, Sendable {
    /// `<string>`, or a `<value>` holding bare text (xapi's encoding).
    case string(String)
    /// `<int>`, `<i4>` or `<i8>`.
    case int(Int64)
    /// `<boolean>`: `0` or `1`.
    case boolean(Bool)
    /// `<double>`.
    case double(Double)
    /// `<dateTime.iso8601>`, kept as written (xapi's `19700101T00:00:00Z`).
    case dateTime(String)
    /// `<base64>`, decoded.
    case base64([UInt8])
    /// `<array><data>…</data></array>`.
    case array([XMLRPCValue])
    /// `<struct>` with its members in order.
    case `struct`([Member])
    /// `<nil/>`.
    case `nil`

    /// One `<member>` of a struct.
    public struct Member: Hashable, Sendable {
        public var name: String
        public var value: XMLRPCValue

        /// A member called `name` holding `value`.
        public init(_ name: String, _ value: XMLRPCValue) {
            self.name = name
            self.value = value
        }
    }

    /// The XML-RPC element name of this value's type (`string`, `int`, `struct`, ...), for messages.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .int: "int"
        case .boolean: "boolean"
        case .double: "double"
        case .dateTime: "dateTime.iso8601"
        case .base64: "base64"
        case .array: "array"
        case .struct: "struct"
        case .nil: "nil"
        }
    }

    /// The text of a `.string`, else nil.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The members of a `.struct`, else nil.
    public var structMembers: [Member]? {
        if case .struct(let members) = self { return members }
        return nil
    }

    /// The elements of an `.array`, else nil.
    public var arrayElements: [XMLRPCValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The value of the struct member called `name` (the first, if a hand-built struct repeats
    /// it); nil when this is not a struct or has no such member.
    public subscript(member name: String) -> XMLRPCValue? {
        structMembers?.first { $0.name == name }?.value
    }
}

extension XMLRPCValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension XMLRPCValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension XMLRPCValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
}

extension XMLRPCValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension XMLRPCValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: XMLRPCValue...) { self = .array(elements) }
}

extension XMLRPCValue: ExpressibleByDictionaryLiteral {
    /// A struct whose members keep the literal's order.
    public init(dictionaryLiteral elements: (String, XMLRPCValue)...) {
        self = .struct(elements.map { Member($0.0, $0.1) })
    }
}
