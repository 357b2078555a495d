/// Decodes `Decodable` values from a `YAMLNode` tree, the way Yams' `YAMLDecoder` did:
///
/// - a mapping is a keyed container (merge keys applied), a sequence an unkeyed one;
/// - the coding path grows by the caller's key, and by an index key (`"Index 3"`, `intValue` 3)
///   per list item;
/// - a `String` is the text of any scalar (`port: 1883` decodes as "1883" too);
/// - numbers and booleans come only from plain scalars (a quoted `"30"` is text): integers in
///   decimal, `0x`, `0o`, `0b`, YAML 1.1 octal (`0755`) and base 60 (`1:30`), `_` ignored; floats
///   as Swift reads them plus `.inf`, `-.inf`, `.nan`; booleans `true/false/yes/no/on/off` in any
///   case (Yams did not hold plain values to YAML 1.1's `yes|Yes|YES`);
/// - null is a plain `~`, `null`, `Null`, `NULL` or nothing, and only `decodeNil` and
///   `decodeIfPresent` treat it as absent;
/// - failures are `DecodingError`s: `typeMismatch` (the type wanted, at the node's path),
///   `keyNotFound` (at the mapping's path), `valueNotFound` (a list ran out), and the
///   `dataCorrupted` that types throw themselves.
public struct YAMLNodeDecoder {
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    public init() {}

    public func decode<T: Decodable>(_ type: T.Type = T.self, from node: YAMLNode) throws -> T {
        try _YAMLNodeDecoder(node: node, codingPath: [], userInfo: userInfo).decode(type)
    }
}

/// The key of a list item: `"Index 3"` with `intValue` 3, as Yams and Foundation's decoders name it.
struct YAMLIndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(index: Int) { stringValue = "Index \(index)"; intValue = index }
    init?(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    init?(intValue: Int) { stringValue = "\(intValue)"; self.intValue = intValue }
    static let `super` = YAMLIndexKey(stringValue: "super")!
}

/// The expectation in a `typeMismatch` for a container: a keyed container wants a mapping, an
/// unkeyed one a list (named as `Dictionary`/`Array` so messages can say "a mapping", "a list").
typealias YAMLMappingExpectation = [String: YAMLNode]
typealias YAMLSequenceExpectation = [YAMLNode]

struct _YAMLNodeDecoder: Decoder, SingleValueDecodingContainer {
    let node: YAMLNode
    let codingPath: [any CodingKey]
    let userInfoValues: [CodingUserInfoKey: any Sendable]

    init(node: YAMLNode, codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: any Sendable]) {
        self.node = node; self.codingPath = codingPath; self.userInfoValues = userInfo
    }

    var userInfo: [CodingUserInfoKey: Any] { userInfoValues }

    func child(_ node: YAMLNode, key: any CodingKey) -> _YAMLNodeDecoder {
        _YAMLNodeDecoder(node: node, codingPath: codingPath + [key], userInfo: userInfoValues)
    }

    // MARK: Decoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let m) = node else { throw mismatch(YAMLMappingExpectation.self) }
        return KeyedDecodingContainer(YAMLKeyedContainer<Key>(decoder: self, pairs: m.flattenedPairs))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .sequence(let s) = node else { throw mismatch(YAMLSequenceExpectation.self) }
        return YAMLUnkeyedContainer(decoder: self, items: s.items)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool { node.isNull }

    func decode(_ type: Bool.Type) throws -> Bool {
        let s = try scalar(type)
        // As Yams: a plain scalar (or one tagged other than `!!str`) whose text is a YAML 1.1
        // boolean in any case (`yes`, `On`, `FALSE`, `tRUE`).
        if (s.tag ?? (s.isPlain ? nil : .str)) != .str {
            switch s.value.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: break
            }
        }
        throw mismatch(type)
    }

    func decode(_ type: String.Type) throws -> String { try scalar(type).value }
    func decode(_ type: Double.Type) throws -> Double { try float(type) }
    func decode(_ type: Float.Type) throws -> Float { try float(type) }
    func decode(_ type: Int.Type) throws -> Int { try signed(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try signed(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try signed(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try signed(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try signed(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try unsigned(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try unsigned(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try unsigned(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try unsigned(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try unsigned(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // Generic code (`[Int]`, `Optional<Double>` …) arrives here: route the scalar types.
        switch type {
        case is Bool.Type: return try decode(Bool.self) as! T
        case is String.Type: return try decode(String.self) as! T
        case is Double.Type: return try decode(Double.self) as! T
        case is Float.Type: return try decode(Float.self) as! T
        case is Int.Type: return try decode(Int.self) as! T
        case is Int8.Type: return try decode(Int8.self) as! T
        case is Int16.Type: return try decode(Int16.self) as! T
        case is Int32.Type: return try decode(Int32.self) as! T
        case is Int64.Type: return try decode(Int64.self) as! T
        case is UInt.Type: return try decode(UInt.self) as! T
        case is UInt8.Type: return try decode(UInt8.self) as! T
        case is UInt16.Type: return try decode(UInt16.self) as! T
        case is UInt32.Type: return try decode(UInt32.self) as! T
        case is UInt64.Type: return try decode(UInt64.self) as! T
        default: return try T(from: self)
        }
    }

    // MARK: Scalars

    private func scalar(_ type: Any.Type) throws -> YAMLNode.Scalar {
        guard case .scalar(let s) = node else { throw mismatch(type) }
        return s
    }

    /// Integers and floats only from plain scalars: a quoted `"30"` is text.
    private func plainText(_ type: Any.Type) throws -> String {
        let s = try scalar(type)
        guard s.isPlain else { throw mismatch(type) }
        return s.value
    }

    private func signed<T: FixedWidthInteger & SignedInteger>(_ type: T.Type) throws -> T {
        guard let v = YAMLScalarValue.int64(try plainText(type)).flatMap(T.init(exactly:)) else { throw mismatch(type) }
        return v
    }

    private func unsigned<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) throws -> T {
        guard let v = YAMLScalarValue.uint64(try plainText(type)).flatMap(T.init(exactly:)) else { throw mismatch(type) }
        return v
    }

    private func float<T: BinaryFloatingPoint & LosslessStringConvertible>(_ type: T.Type) throws -> T {
        guard let v = YAMLScalarValue.float(try plainText(type), as: T.self) else { throw mismatch(type) }
        return v
    }

    func mismatch(_ type: Any.Type) -> DecodingError {
        let found: String
        switch node {
        case .scalar(let s): found = "the scalar '\(s.value)'"
        case .mapping: found = "a mapping"
        case .sequence: found = "a sequence"
        }
        return .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "Expected to decode \(type) but found \(found) instead."))
    }
}

struct YAMLKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: _YAMLNodeDecoder
    /// After merges; a lookup takes the last pair with the key, so a mapping's own key wins.
    let pairs: [YAMLNode.Mapping.Pair]

    var codingPath: [any CodingKey] { decoder.codingPath }

    /// Every scalar key once, in the order written (merged keys first).
    var allKeys: [Key] {
        var seen: Set<String> = []
        return pairs.compactMap { pair in
            guard case .scalar(let k) = pair.key, seen.insert(k.value).inserted else { return nil }
            return Key(stringValue: k.value)
        }
    }

    func contains(_ key: Key) -> Bool { value(for: key) != nil }

    private func value(for key: any CodingKey) -> YAMLNode? {
        pairs.last(where: { $0.key.scalar?.value == key.stringValue })?.value
    }

    private func child(_ key: any CodingKey) throws -> _YAMLNodeDecoder {
        guard let v = value(for: key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath,
                debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\")."))
        }
        return decoder.child(v, key: key)
    }

    func decodeNil(forKey key: Key) throws -> Bool { try child(key).decodeNil() }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try child(key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).decode(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).decode(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try child(key).decode(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try child(key).decode(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try child(key).decode(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).decode(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try child(key).decode(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try child(key).decode(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try child(key).decode(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try child(key).decode(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decode(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { try child(YAMLIndexKey.super) }
    func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
}

struct YAMLUnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: _YAMLNodeDecoder
    let items: [YAMLNode]
    private(set) var currentIndex = 0

    init(decoder: _YAMLNodeDecoder, items: [YAMLNode]) { self.decoder = decoder; self.items = items }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private var currentKey: YAMLIndexKey { YAMLIndexKey(index: currentIndex) }

    /// The decoder of the current item; `valueNotFound` past the end.
    private func current(_ type: Any.Type) throws -> _YAMLNodeDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [currentKey], debugDescription: "Unkeyed container is at end."))
        }
        return decoder.child(items[currentIndex], key: currentKey)
    }

    /// Decodes the current item and moves past it only when that worked.
    private mutating func next<T>(_ type: Any.Type, _ body: (_YAMLNodeDecoder) throws -> T) throws -> T {
        let value = try body(try current(type))
        currentIndex += 1
        return value
    }

    /// True (and moves on) when the current item is null; otherwise stays on it.
    mutating func decodeNil() throws -> Bool {
        guard try current(Never?.self).decodeNil() else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: String.Type) throws -> String { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type) { try $0.decode(type) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type) { try $0.decode(type) } }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type) { try $0.decode(type) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next(YAMLMappingExpectation.self) { try $0.container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next(YAMLSequenceExpectation.self) { try $0.unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder { try next((any Decoder).self) { $0 } }
}

/// Numbers from the text of plain scalars, by Yams' rules.
enum YAMLScalarValue {
    /// `0`, `-12`, `+12`, `1_000`, `0x1F`, `0o17`, `017` (YAML 1.1 octal), `0b101`, `1:30` (base 60).
    static func int64(_ text: String) -> Int64? { integer(text, as: Int64.self) }
    static func uint64(_ text: String) -> UInt64? { integer(text, as: UInt64.self) }

    private static func integer<T: FixedWidthInteger>(_ text: String, as: T.Type) -> T? {
        let withSign = text.filter { $0 != "_" }
        let negative = withSign.hasPrefix("-")
        guard T.isSigned || !negative else { return nil }
        let hasSign = negative || withSign.hasPrefix("+")
        let digits = withSign.dropFirst(hasSign ? 1 : 0)
        if digits == "0" { return 0 }
        let sign = negative ? "-" : ""
        for (prefix, radix) in [("0x", 16), ("0b", 2), ("0o", 8), ("0", 8)] where digits.hasPrefix(prefix) {
            return T(sign + digits.dropFirst(prefix.count), radix: radix)
        }
        if digits.contains(":") { return sexagesimal(withSign) { T($0, radix: 10) } }
        return T(withSign, radix: 10)
    }

    /// `.inf`, `+.inf`, `-.inf`, `.nan` in any case; else the text as Swift reads a number
    /// (`1e3`, `.5`, `inf`, `0x1p4`), `_` ignored, or base 60 (`1:30.5`).
    static func float<T: BinaryFloatingPoint & LosslessStringConvertible>(_ text: String, as: T.Type) -> T? {
        switch text.lowercased() {
        case ".inf", "+.inf": return .infinity
        case "-.inf": return -.infinity
        case ".nan": return .nan
        default:
            let s = text.filter { $0 != "_" }
            if s.contains(":") { return sexagesimal(s) { T($0) } }
            return T(s)
        }
    }

    /// `[-+]a:b:c` = ±(a·60² + b·60 + c), each part read by `part`; nil on overflow.
    private static func sexagesimal<T: FixedWidthInteger>(_ text: String, _ part: (String) -> T?) -> T? {
        let (negative, parts) = sexagesimalParts(text)
        var value: T = 0
        for p in parts {
            guard let v = part(p) else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 60)
            let (sum, o2) = m.addingReportingOverflow(v)
            guard !o1, !o2 else { return nil }
            value = sum
        }
        if negative {
            let (n, o) = T.zero.subtractingReportingOverflow(value)
            return o ? nil : n
        }
        return value
    }

    private static func sexagesimal<T: BinaryFloatingPoint>(_ text: String, _ part: (String) -> T?) -> T? {
        let (negative, parts) = sexagesimalParts(text)
        var value: T = 0
        for p in parts {
            guard let v = part(p) else { return nil }
            value = value * 60 + v
        }
        return negative ? -value : value
    }

    private static func sexagesimalParts(_ text: String) -> (negative: Bool, parts: [String]) {
        var s = Substring(text)
        var negative = false
        if s.hasPrefix("-") { negative = true; s = s.dropFirst() } else if s.hasPrefix("+") { s = s.dropFirst() }
        return (negative, s.split(separator: ":", omittingEmptySubsequences: false).map(String.init))
    }
}
