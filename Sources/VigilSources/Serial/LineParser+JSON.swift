import VigilCore

// `format: json`: one flat object per line, scanned in place without building a tree.
extension LineParser {
    @inline(__always) static func isJSONSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
    }

    /// One flat object: `{"t":21.5,"h":null,"meta":{…}}`. Numbers (also `NaN`/`Infinity`, which
    /// some firmwares print) and numeric strings set mapped fields; `null` is a dropped reading;
    /// booleans, other strings, objects and arrays are ignored. False when malformed.
    func parseJSON(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let p = line.baseAddress else { return false }
        let n = line.count
        var i = 0
        func skipSpace() { while i < n && Self.isJSONSpace(p[i]) { i += 1 } }
        skipSpace()
        guard i < n, p[i] == UInt8(ascii: "{") else { return false }
        i += 1
        skipSpace()
        if i < n && p[i] == UInt8(ascii: "}") {
            i += 1
            skipSpace()
            return i == n
        }
        while true {
            skipSpace()
            guard i < n, p[i] == UInt8(ascii: "\"") else { return false }
            guard let (keyStart, keyEnd, escaped) = scanString(p, n, &i) else { return false }
            var key = UnsafeBufferPointer(start: p + keyStart, count: keyEnd - keyStart)
            if escaped {
                guard let k = unescape(key) else { return false }
                key = k
            }
            skipSpace()
            guard i < n, p[i] == UInt8(ascii: ":") else { return false }
            i += 1
            skipSpace()
            guard i < n else { return false }
            let field = lookup(key)
            if field == nil { unknown(key) }
            switch p[i] {
            case UInt8(ascii: "\""):
                guard let (s, e, esc) = scanString(p, n, &i) else { return false }
                if let f = field, !esc { setNumber(field: f, UnsafeBufferPointer(start: p + s, count: e - s)) }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard skipNested(p, n, &i) else { return false }
            default:
                let start = i
                while i < n && p[i] != UInt8(ascii: ",") && p[i] != UInt8(ascii: "}") && !Self.isJSONSpace(p[i]) { i += 1 }
                let token = UnsafeBufferPointer(start: p + start, count: i - start)
                if NumberParser.equalsIgnoringCase(token, "null") {
                    if field != nil { usable += 1 }
                } else if NumberParser.equalsIgnoringCase(token, "true") || NumberParser.equalsIgnoringCase(token, "false") {
                    break
                } else if let raw = numbers.parse(token) {
                    if let f = field {
                        usable += 1
                        let v = raw * scales[f] + offsets[f]
                        values[f] = v.isFinite ? v : .nan
                    }
                } else {
                    return false
                }
            }
            skipSpace()
            guard i < n else { return false }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            guard p[i] == UInt8(ascii: "}") else { return false }
            i += 1
            skipSpace()
            return i == n
        }
    }

    /// At an opening quote: moves `i` past the closing one; the content's bounds and whether it
    /// holds escapes. Nil when unterminated.
    func scanString(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: inout Int) -> (Int, Int, Bool)? {
        let start = i + 1
        var k = start
        var escaped = false
        while k < n {
            if p[k] == UInt8(ascii: "\\") { escaped = true; k += 2; continue }
            if p[k] == UInt8(ascii: "\"") {
                i = k + 1
                return (start, k, escaped)
            }
            k += 1
        }
        return nil
    }

    /// At `{` or `[`: moves `i` past the matching bracket (strings respected).
    func skipNested(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: inout Int) -> Bool {
        var depth = 0
        while i < n {
            switch p[i] {
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                i += 1
                if depth == 0 { return true }
            case UInt8(ascii: "\""):
                guard scanString(p, n, &i) != nil else { return false }
            default: i += 1
            }
        }
        return false
    }

    /// A JSON string's content with its escapes resolved, into the scratch buffer.
    func unescape(_ s: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        guard let out = scratch.baseAddress else { return nil }
        var o = 0
        var k = 0
        let n = s.count
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= n else { return nil }
            var v: UInt32 = 0
            for j in at..<at + 4 {
                let b = s[j]
                let d: UInt32
                switch b {
                case 0x30...0x39: d = UInt32(b - 0x30)
                case 0x41...0x46: d = UInt32(b - 0x41 + 10)
                case 0x61...0x66: d = UInt32(b - 0x61 + 10)
                default: return nil
                }
                v = v << 4 | d
            }
            return v
        }
        while k < n {
            let b = s[k]
            guard b == UInt8(ascii: "\\") else { out[o] = b; o += 1; k += 1; continue }
            guard k + 1 < n else { return nil }
            let e = s[k + 1]
            k += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out[o] = e; o += 1
            case UInt8(ascii: "b"): out[o] = 0x08; o += 1
            case UInt8(ascii: "f"): out[o] = 0x0C; o += 1
            case UInt8(ascii: "n"): out[o] = 0x0A; o += 1
            case UInt8(ascii: "r"): out[o] = 0x0D; o += 1
            case UInt8(ascii: "t"): out[o] = 0x09; o += 1
            case UInt8(ascii: "u"):
                guard var cp = hex4(k) else { return nil }
                k += 4
                if cp >= 0xD800 && cp < 0xDC00 {
                    guard k + 1 < n, s[k] == UInt8(ascii: "\\"), s[k + 1] == UInt8(ascii: "u"),
                          let lo = hex4(k + 2), lo >= 0xDC00 && lo < 0xE000 else { return nil }
                    k += 6
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                } else if cp >= 0xDC00 && cp < 0xE000 {
                    return nil
                }
                // An escape is never longer than what it encodes (6 bytes → ≤ 3, 12 → 4).
                guard let scalar = Unicode.Scalar(cp) else { return nil }
                for u in UTF8.encode(scalar)! { out[o] = u; o += 1 }
            default: return nil
            }
        }
        return UnsafeBufferPointer(start: out, count: o)
    }
}
