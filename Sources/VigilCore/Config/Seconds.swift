/// A length of time in a config file: `250ms`, `20s`, `5m`, `1h`, `1d`, or a bare number of seconds.
public struct ConfigDuration: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public static func seconds(_ s: Double) -> ConfigDuration { ConfigDuration(nanoseconds: Int64((s * 1e9).rounded())) }
    public static func milliseconds(_ ms: Int64) -> ConfigDuration { ConfigDuration(nanoseconds: ms * 1_000_000) }

    public var seconds: Double { Double(nanoseconds) / 1e9 }

    /// Parses `"1.5s"`, `"250ms"`, `"2m"`, `"1h"`, `"1d"`, `"30"` (seconds). Nil when malformed or negative.
    public init?(parsing text: String) {
        let t = text.trimmingWhitespace()
        let units: [(String, Double)] = [("ms", 1e6), ("us", 1e3), ("s", 1e9), ("m", 60e9), ("h", 3600e9), ("d", 86400e9)]
        var number = Substring(t)
        var scale = 1e9
        for (suffix, s) in units where t.hasSuffix(suffix) {
            number = t.dropLast(suffix.count)
            scale = s
            break
        }
        guard let value = Double(number.trimmingWhitespace()), value.isFinite, value >= 0 else { return nil }
        self.nanoseconds = Int64((value * scale).rounded())
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Double.self) {
            guard n.isFinite, n >= 0 else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "a duration must be zero or more seconds, got \(n)")
            }
            self = .seconds(n)
            return
        }
        let s = try c.decode(String.self)
        guard let d = ConfigDuration(parsing: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(s)' is not a duration (use e.g. 500ms, 20s, 5m, 1h)")
        }
        self = d
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public var description: String {
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000)s" }
        if nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000)ms" }
        return "\(Double(nanoseconds) / 1e9)s"
    }

    public static func < (a: ConfigDuration, b: ConfigDuration) -> Bool { a.nanoseconds < b.nanoseconds }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
