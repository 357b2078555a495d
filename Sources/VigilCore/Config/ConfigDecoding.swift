// Decoding helpers every config type uses, the source kinds' settings included.

extension Decoder {
    /// Fails on keys the type does not know, so a typo (`z_onn: 3`) is an error, not a silent default.
    public func rejectUnknownKeys<K: CodingKey & CaseIterable>(_ known: K.Type) throws {
        let c = try container(keyedBy: AnyKey.self)
        let names = Set(K.allCases.map(\.stringValue))
        for key in c.allKeys where !names.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: codingPath + [key],
                debugDescription: "unknown field '\(key.stringValue)' (known: \(K.allCases.map(\.stringValue).sorted().joined(separator: ", ")))"))
        }
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { self.stringValue = "\(intValue)"; self.intValue = intValue }
}

/// Decodes a string enum with an error that lists the choices.
public func decodeNamed<T: RawRepresentable & CaseIterable>(_ decoder: Decoder, what: String) throws -> T where T.RawValue == String {
    let c = try decoder.singleValueContainer()
    let s = try c.decode(String.self)
    guard let v = T(rawValue: s) else {
        throw DecodingError.dataCorruptedError(in: c, debugDescription:
            "'\(s)' is not a \(what) (known: \(T.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    return v
}
