/// A minimal writer of compact JSON objects into bytes (events are small and flat).
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    public mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func key(_ k: StaticString) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        bytes.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// A key made at run time (counter names); it must need no escaping.
    private mutating func key(dynamic k: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        Self.appendQuoted(k, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func int(dynamicKey k: String, _ v: Int) {
        key(dynamic: k)
        bytes.append(contentsOf: String(v).utf8)
    }

    public mutating func string(_ k: StaticString, _ v: String) {
        key(k)
        Self.appendQuoted(v, to: &bytes)
    }

    public mutating func int(_ k: StaticString, _ v: Int) {
        key(k)
        bytes.append(contentsOf: String(v).utf8)
    }

    public mutating func bool(_ k: StaticString, _ v: Bool) {
        key(k)
        bytes.append(contentsOf: (v ? "true" : "false").utf8)
    }

    /// Finite numbers in their shortest round-trip form; NaN and ±inf as null (JSON has neither).
    public mutating func number(_ k: StaticString, _ v: Double) {
        key(k)
        guard v.isFinite else { bytes.append(contentsOf: "null".utf8); return }
        if v == v.rounded(), abs(v) < 1e15 {
            bytes.append(contentsOf: String(Int64(v)).utf8)
        } else {
            bytes.append(contentsOf: v.description.utf8)
        }
    }

    /// A number rounded to `places` decimals (for derived values such as z and means).
    public mutating func number(_ k: StaticString, _ v: Double, places: Int) {
        number(k, Self.rounded(v, places: places))
    }

    /// `v` rounded to `places` decimals (unchanged when too large to matter).
    public static func rounded(_ v: Double, places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return v.isFinite && abs(v) < 1e12 ? (v * scale).rounded() / scale : v
    }

    public mutating func timestamp(_ k: StaticString, _ nanos: Int64) {
        key(k)
        bytes.append(UInt8(ascii: "\""))
        Timestamp.appendRFC3339(nanos, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(c >> 4)], hex[Int(c & 15)]])
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
