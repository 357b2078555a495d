import VigilCore

/// What a serial source counted, from its parser and splitter.
public struct SerialParseCounters: Sendable, Equatable {
    /// Every line handed to the parser (data, header, bad and garbage alike).
    public var lines = 0
    /// Lines that gave values.
    public var dataLines = 0
    /// Finite values delivered.
    public var readings = 0
    /// NaN delivered for a mapped field that a data line lacked or gave as null, nan, inf or text:
    /// a dropped reading that the detector counts (never a 0).
    public var missing = 0
    /// Lines without any usable mapped field, or malformed (bad JSON, wrong number of columns).
    public var badLines = 0
    /// Lines with control bytes, invalid UTF-8 or mostly non-ASCII text (boot noise, wrong baud).
    public var garbageLines = 0
    /// csv/semicolon header lines consumed.
    public var headerLines = 0
    /// kv/json keys that map to no channel (each occurrence); csv columns that map to no channel
    /// (once per header).
    public var unknownFields = 0

    public init() {}
}

/// Turns one line's bytes into a value per channel, for one `SerialLineFormat`. Works on the
/// bytes in place (no `String`, no splitting into arrays); buffers are allocated once at `init`.
///
/// After `parse` returns `.data`, `values[c]` holds channel c's value (raw · scale + offset), or
/// NaN where the line lacked the field or gave it as `null`, `nan`, `inf` or non-numeric text.
/// A line is `.data` when at least one mapped field carried a number (`nan`/`inf` and JSON `null`
/// count: the sensor reported a failed reading); otherwise it is `.bad` and nothing is delivered.
public final class LineParser {
    public enum LineKind: Sendable, Equatable {
        /// `values` holds this line's values.
        case data
        /// A csv/semicolon header line, consumed.
        case header
        /// No usable mapped field, or malformed.
        case bad
        /// Control bytes, invalid UTF-8, or mostly non-ASCII: skipped.
        case garbage
    }

    public let format: SerialLineFormat
    public let fields: [SerialFieldMapping]
    public var channelCount: Int { fields.count }
    public private(set) var counters = SerialParseCounters()
    /// This line's values, one per channel (valid after `.data`).
    public private(set) var values: [Double]
    /// csv/semicolon: the columns in force (fixed, or from the last header); nil before a header.
    public private(set) var columns: [String]?
    /// Unknown field names seen for the first time since the last call to `takeNewUnknownFields()`
    /// (at most 32 distinct names are remembered, so logs can name them once).
    private var newUnknown: [String] = []

    private let fixedColumns: Bool
    /// csv: column index → field index, or -1.
    private var columnMap: [Int] = []
    private let keys: [[UInt8]]
    private let scales: [Double]
    private let offsets: [Double]
    private let numbers: NumberParser
    private let maxLineLength: Int
    /// csv cell bounds / JSON key unescaping.
    private let cellStart: UnsafeMutableBufferPointer<Int>
    private let cellEnd: UnsafeMutableBufferPointer<Int>
    private let scratch: UnsafeMutableBufferPointer<UInt8>
    private var unknownSeen: [[UInt8]] = []
    /// Fields of this line that carried a number (finite or not) or JSON null.
    private var usable = 0

    /// - Parameters:
    ///   - csvColumns: fixed columns for csv/semicolon; nil to learn them from a header line.
    ///   - maxLineLength: the longest line that will be passed (sizes the scratch buffers).
    public init(format: SerialLineFormat, fields: [SerialFieldMapping], csvColumns: [String]? = nil, maxLineLength: Int = 512) {
        self.format = format
        self.fields = fields
        self.maxLineLength = max(1, maxLineLength)
        keys = fields.map { Array($0.field.utf8) }
        scales = fields.map(\.scale)
        offsets = fields.map(\.offset)
        values = [Double](repeating: .nan, count: fields.count)
        numbers = NumberParser(capacity: self.maxLineLength)
        cellStart = .allocate(capacity: self.maxLineLength + 2)
        cellEnd = .allocate(capacity: self.maxLineLength + 2)
        scratch = .allocate(capacity: self.maxLineLength)
        fixedColumns = csvColumns != nil
        if let cols = csvColumns { adoptColumns(cols) }
    }

    public convenience init(config: SerialSourceConfig) {
        self.init(format: config.format, fields: config.fields, csvColumns: config.csvColumns, maxLineLength: config.maxLineLength)
    }

    deinit {
        numbers.deallocate()
        cellStart.deallocate()
        cellEnd.deallocate()
        scratch.deallocate()
    }

    /// Names of unknown fields not reported before (for a log line each), then forgets them.
    public func takeNewUnknownFields() -> [String] {
        defer { newUnknown.removeAll(keepingCapacity: true) }
        return newUnknown
    }

    /// Adds what a splitter counted (overlong lines never reach the parser).
    public func parse(_ line: UnsafeBufferPointer<UInt8>) -> LineKind {
        counters.lines += 1
        guard line.count <= maxLineLength else {  // a splitter never passes one; a caller might
            counters.badLines += 1
            return .bad
        }
        if Self.isGarbage(line) {
            counters.garbageLines += 1
            return .garbage
        }
        for c in values.indices { values[c] = .nan }
        usable = 0
        let kind: LineKind
        switch format {
        case .kv: kind = parseKV(line)
        case .csv: kind = parseDelimited(line, separator: UInt8(ascii: ","))
        case .semicolon: kind = parseDelimited(line, separator: UInt8(ascii: ";"))
        case .json: kind = parseJSON(line) && usable > 0 ? .data : .bad
        }
        switch kind {
        case .data:
            counters.dataLines += 1
            for v in values { if v.isNaN { counters.missing += 1 } else { counters.readings += 1 } }
        case .bad:
            counters.badLines += 1
            for c in values.indices { values[c] = .nan }
        case .header:
            counters.headerLines += 1
        case .garbage:
            break
        }
        return kind
    }

    /// Convenience for tests and tools.
    public func parse(_ bytes: some Collection<UInt8>) -> LineKind {
        let array = Array(bytes)
        return array.withUnsafeBufferPointer { parse($0) }
    }

    // MARK: - Garbage

    /// True for a line with a control byte (below 0x20 other than tab, or DEL), invalid UTF-8
    /// (including overlongs, surrogates, C1 controls), or more non-ASCII characters than ASCII ones
    /// — what a wrong baud rate or the ESP8266's 74880-baud boot banner look like.
    public static func isGarbage(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = line.count
        var i = 0
        var scalars = 0
        var nonASCII = 0
        while i < n {
            let b = line[i]
            if b < 0x80 {
                if (b < 0x20 && b != 0x09) || b == 0x7F { return true }
                i += 1
                scalars += 1
                continue
            }
            let length: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF  // allowed range of the second byte
            switch b {
            case 0xC2: length = 2; lo = 0xA0           // U+0080…U+009F are C1 controls
            case 0xC3...0xDF: length = 2
            case 0xE0: length = 3; lo = 0xA0
            case 0xED: length = 3; hi = 0x9F           // no surrogates
            case 0xE1...0xEF: length = 3
            case 0xF0: length = 4; lo = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; hi = 0x8F
            default: return true
            }
            guard i + length <= n else { return true }
            if line[i + 1] < lo || line[i + 1] > hi { return true }
            var k = 2
            while k < length {
                if line[i + k] < 0x80 || line[i + k] > 0xBF { return true }
                k += 1
            }
            i += length
            scalars += 1
            nonASCII += 1
        }
        return nonASCII * 2 > scalars
    }

    // MARK: - Fields

    /// The field index of `key`, or nil (then counted as unknown).
    private func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        outer: for (f, k) in keys.enumerated() where k.count == key.count {
            for j in 0..<k.count where k[j] != key[j] { continue outer }
            return f
        }
        return nil
    }

    private func unknown(_ key: UnsafeBufferPointer<UInt8>) {
        counters.unknownFields += 1
        guard unknownSeen.count < 32 else { return }
        for s in unknownSeen where s.count == key.count && s.elementsEqual(key) { return }
        unknownSeen.append(Array(key))
        newUnknown.append(String(decoding: key, as: UTF8.self))
    }

    /// A mapped field's text value: a number (finite or not) makes the line usable.
    private func setNumber(field f: Int, _ text: UnsafeBufferPointer<UInt8>) {
        guard let raw = numbers.parse(text) else { return }
        usable += 1
        let v = raw * scales[f] + offsets[f]
        values[f] = v.isFinite ? v : .nan
    }

    // MARK: - kv

    @inline(__always) private static func isPairSeparator(_ b: UInt8) -> Bool {
        b == UInt8(ascii: ",") || b == UInt8(ascii: ";") || b == UInt8(ascii: " ") || b == UInt8(ascii: "\t")
    }

    @inline(__always) private static func isBlank(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }

    /// `t=21.5,h=40.1 s=55`, `t:21.5; h: 40`, `Temperature: 21.5 Humidity: 40`. Bare words are
    /// ignored; a key without value too.
    private func parseKV(_ line: UnsafeBufferPointer<UInt8>) -> LineKind {
        guard let p = line.baseAddress else { return .bad }
        let n = line.count
        var i = 0
        while i < n {
            while i < n && Self.isPairSeparator(p[i]) { i += 1 }
            if i >= n { break }
            let keyStart = i
            while i < n && !Self.isPairSeparator(p[i]) && p[i] != UInt8(ascii: "=") && p[i] != UInt8(ascii: ":") { i += 1 }
            let keyEnd = i
            var j = i
            while j < n && Self.isBlank(p[j]) { j += 1 }
            guard j < n, p[j] == UInt8(ascii: "=") || p[j] == UInt8(ascii: ":") else {
                continue  // a bare word
            }
            j += 1
            while j < n && Self.isBlank(p[j]) { j += 1 }
            let valueStart = j
            while j < n && !Self.isPairSeparator(p[j]) { j += 1 }
            i = j
            if keyEnd == keyStart { continue }  // `=5`
            let key = UnsafeBufferPointer(start: p + keyStart, count: keyEnd - keyStart)
            guard let f = lookup(key) else { unknown(key); continue }
            setNumber(field: f, UnsafeBufferPointer(start: p + valueStart, count: j - valueStart))
        }
        return usable > 0 ? .data : .bad
    }

    // MARK: - csv / semicolon

    private func adoptColumns(_ cols: [String]) {
        columns = cols
        columnMap = cols.map { name in fields.firstIndex { $0.field == name } ?? -1 }
    }

    /// Splits into cells (trimmed of blanks and of one pair of double quotes); returns their count.
    private func splitCells(_ p: UnsafePointer<UInt8>, _ n: Int, separator: UInt8) -> Int {
        var cells = 0
        var i = 0
        while true {
            var start = i
            var end = i
            while start < n && Self.isBlank(p[start]) { start += 1 }
            if start < n && p[start] == UInt8(ascii: "\"") {
                // A quoted cell runs to the closing quote ("" is an escaped quote inside).
                var k = start + 1
                while k < n {
                    if p[k] == UInt8(ascii: "\"") {
                        if k + 1 < n && p[k + 1] == UInt8(ascii: "\"") { k += 2; continue }
                        break
                    }
                    k += 1
                }
                let closing = k
                var m = min(k + 1, n)
                while m < n && p[m] != separator { m += 1 }
                cellStart[cells] = start + 1
                cellEnd[cells] = max(start + 1, min(closing, n))
                cells += 1
                i = m
            } else {
                end = start
                while end < n && p[end] != separator { end += 1 }
                i = end
                var e = end
                while e > start && Self.isBlank(p[e - 1]) { e -= 1 }
                cellStart[cells] = start
                cellEnd[cells] = e
                cells += 1
            }
            if i >= n { break }
            i += 1  // past the separator
            if i == n {  // a trailing separator: one last, empty cell
                cellStart[cells] = n
                cellEnd[cells] = n
                cells += 1
                break
            }
        }
        return cells
    }

    private func cell(_ p: UnsafePointer<UInt8>, _ k: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: p + cellStart[k], count: cellEnd[k] - cellStart[k])
    }

    /// A header: every cell a non-empty non-number, and at least one names a mapped field.
    private func looksLikeHeader(_ p: UnsafePointer<UInt8>, cells: Int) -> Bool {
        var names = 0
        for k in 0..<cells {
            let c = cell(p, k)
            if c.isEmpty || numbers.parse(c) != nil { return false }
            if lookup(c) != nil { names += 1 }
        }
        return names > 0
    }

    private func parseDelimited(_ line: UnsafeBufferPointer<UInt8>, separator: UInt8) -> LineKind {
        guard let p = line.baseAddress else { return .bad }
        let cells = splitCells(p, line.count, separator: separator)
        if looksLikeHeader(p, cells: cells) {
            if !fixedColumns {
                let names = (0..<cells).map { String(decoding: cell(p, $0), as: UTF8.self) }
                if names != columns {
                    adoptColumns(names)
                    for k in 0..<cells where columnMap[k] < 0 { unknown(cell(p, k)) }
                }
            }
            return .header
        }
        guard columns != nil else { return .bad }
        let expected = columnMap.count
        guard cells == expected || (cells == expected + 1 && cellStart[cells - 1] == cellEnd[cells - 1]) else {
            return .bad
        }
        for k in 0..<expected where columnMap[k] >= 0 {
            setNumber(field: columnMap[k], cell(p, k))
        }
        return usable > 0 ? .data : .bad
    }

    // MARK: - json

    @inline(__always) private static func isJSONSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
    }

    /// One flat object: `{"t":21.5,"h":null,"meta":{…}}`. Numbers (also `NaN`/`Infinity`, which
    /// some firmwares print) and numeric strings set mapped fields; `null` is a dropped reading;
    /// booleans, other strings, objects and arrays are ignored. False when malformed.
    private func parseJSON(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
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
    private func scanString(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: inout Int) -> (Int, Int, Bool)? {
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
    private func skipNested(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: inout Int) -> Bool {
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
    private func unescape(_ s: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
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
