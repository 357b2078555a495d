/// A length of time in a config file: `250ms`, `20s`, `5m`, `1h`, `1d`, or a bare number of seconds,
/// from zero up to `maximum` (3650d, ten years).
public struct ConfigDuration: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var nanoseconds: Int64

    /// The longest duration a config file may give: 3650 days (ten years). Far beyond any interval
    /// or window an agent needs, and far inside Int64 nanoseconds (292 years), so adding one to a
    /// clock reading or a recorded time (replay takes 1970…2199) cannot overflow.
    public static let maximum = ConfigDuration(nanoseconds: 3650 * 86_400 * 1_000_000_000)

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public static func seconds(_ s: Double) -> ConfigDuration { ConfigDuration(nanoseconds: Int64((s * 1e9).rounded())) }
    public static func milliseconds(_ ms: Int64) -> ConfigDuration { ConfigDuration(nanoseconds: ms * 1_000_000) }

    public var seconds: Double { Double(nanoseconds) / 1e9 }

    /// Why a text or number is not a duration; its description follows the quoted text.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        /// Not a number with a known unit, or negative.
        case malformed
        /// More than `maximum`.
        case tooLong

        public var description: String {
            switch self {
            case .malformed: "is not a duration (use e.g. 500ms, 20s, 5m, 1h)"
            case .tooLong: "is longer than 3650d (ten years), the longest duration allowed"
            }
        }
    }

    /// `value` in units of `scale` nanoseconds, checked against 0…`maximum` before it becomes an Int64.
    static func checked(_ value: Double, scale: Double) -> Result<ConfigDuration, Problem> {
        guard value.isFinite, value >= 0 else { return .failure(.malformed) }
        let nanos = value * scale
        guard nanos <= Double(maximum.nanoseconds) else { return .failure(.tooLong) }
        return .success(ConfigDuration(nanoseconds: Int64(nanos.rounded())))
    }

    /// Parses `"1.5s"`, `"250ms"`, `"2m"`, `"1h"`, `"1d"`, `"30"` (seconds).
    public static func parse(_ text: String) -> Result<ConfigDuration, Problem> {
        let t = text.trimmingWhitespace()
        let units: [(String, Double)] = [("ms", 1e6), ("us", 1e3), ("s", 1e9), ("m", 60e9), ("h", 3600e9), ("d", 86400e9)]
        var number = Substring(t)
        var scale = 1e9
        for (suffix, s) in units where t.hasSuffix(suffix) {
            number = t.dropLast(suffix.count)
            scale = s
            break
        }
        guard let value = Double(number.trimmingWhitespace()) else { return .failure(.malformed) }
        return checked(value, scale: scale)
    }

    /// As `parse`; nil when malformed, negative or longer than `maximum`.
    public init?(parsing text: String) {
        guard case .success(let d) = Self.parse(text) else { return nil }
        self = d
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Double.self) {
            switch Self.checked(n, scale: 1e9) {
            case .success(let d): self = d
            case .failure(.malformed):
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "a duration must be zero or more seconds, got \(n)")
            case .failure(.tooLong):
                throw DecodingError.dataCorruptedError(in: c, debugDescription:
                    "a duration must be at most \(Self.maximum.nanoseconds / 1_000_000_000) seconds (3650d, ten years), got \(n)")
            }
            return
        }
        let s = try c.decode(String.self)
        switch Self.parse(s) {
        case .success(let d): self = d
        case .failure(let problem): throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(s)' \(problem)")
        }
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
