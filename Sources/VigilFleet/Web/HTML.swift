/// HTML for the fleet page. Every template is a `Markup` literal: an interpolated `String` goes through
/// `HTML.escape` (the one escaping function), so device-supplied text (units, reasons, source paths,
/// check names, versions) can never become markup; only other `Markup` values are inserted as they are.
public enum HTML {
    /// `&`, `<`, `>`, `"` and `'` as character references: safe in text and in quoted attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

/// A piece of HTML built from a literal: interpolated strings are escaped, interpolated `Markup` is not.
public struct Markup: ExpressibleByStringInterpolation, Sendable, Equatable {
    public private(set) var html: String

    public init(stringLiteral value: String) { html = value }
    public init(stringInterpolation: Interpolation) { html = stringInterpolation.html }
    public init() { html = "" }

    public struct Interpolation: StringInterpolationProtocol {
        var html = ""
        public init(literalCapacity: Int, interpolationCount: Int) { html.reserveCapacity(literalCapacity + 16 * interpolationCount) }
        public mutating func appendLiteral(_ literal: String) { html += literal }
        /// Text: escaped.
        public mutating func appendInterpolation(_ text: String) { html += HTML.escape(text) }
        public mutating func appendInterpolation(_ text: Substring) { html += HTML.escape(String(text)) }
        public mutating func appendInterpolation(_ markup: Markup) { html += markup.html }
        public mutating func appendInterpolation(_ parts: [Markup]) { for p in parts { html += p.html } }
        public mutating func appendInterpolation<N: BinaryInteger>(_ n: N) { html += "\(n)" }
    }

    public static func + (a: Markup, b: Markup) -> Markup { var m = a; m.html += b.html; return m }
    public static func += (a: inout Markup, b: Markup) { a.html += b.html }
}
