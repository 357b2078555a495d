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
    /// What changes per line, behind a pointer (`OwnedState`): no run-time exclusivity checks per
    /// line and value. A parser is used by one thread (its source's).
    private let hot: OwnedState<Hot>
    private struct Hot {
        var counters = SerialParseCounters()
        var values: [Double]
        /// Fields of this line that carried a number (finite or not) or JSON null.
        var usable = 0
    }
    public internal(set) var counters: SerialParseCounters {
        get { hot.value.counters }
        _modify { yield &hot.value.counters }
        set { hot.value.counters = newValue }
    }
    /// This line's values, one per channel (valid after `.data`).
    public internal(set) var values: [Double] {
        get { hot.value.values }
        _modify { yield &hot.value.values }
        set { hot.value.values = newValue }
    }
    /// Channel `c`'s value of this line (the hot path's read: no copy of `values`).
    @inline(__always) public func value(_ c: Int) -> Double { hot.value.values[c] }
    /// Fields of this line that carried a number (finite or not) or JSON null.
    var usable: Int {
        get { hot.value.usable }
        _modify { yield &hot.value.usable }
        set { hot.value.usable = newValue }
    }
    /// csv/semicolon: the columns in force (fixed, or from the last header); nil before a header.
    public internal(set) var columns: [String]?
    /// Unknown field names seen for the first time since the last call to `takeNewUnknownFields()`
    /// (at most 32 distinct names are remembered, so logs can name them once).
    var newUnknown: [String] = []

    let fixedColumns: Bool
    /// csv: column index → field index, or -1.
    var columnMap: [Int] = []
    let keys: [[UInt8]]
    let scales: [Double]
    let offsets: [Double]
    let numbers: NumberParser
    let maxLineLength: Int
    /// csv cell bounds / JSON key unescaping.
    let cellStart: UnsafeMutableBufferPointer<Int>
    let cellEnd: UnsafeMutableBufferPointer<Int>
    let scratch: UnsafeMutableBufferPointer<UInt8>
    var unknownSeen: [[UInt8]] = []

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
        hot = OwnedState(Hot(values: [Double](repeating: .nan, count: fields.count)))
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
        hot.free()
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
        // Printable ASCII (nearly every line) in a tight loop first.
        while i < n && line[i] &- 0x20 < 0x5F { i += 1 }
        if i == n { return false }
        var scalars = i
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
    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        outer: for (f, k) in keys.enumerated() where k.count == key.count {
            for j in 0..<k.count where k[j] != key[j] { continue outer }
            return f
        }
        return nil
    }

    func unknown(_ key: UnsafeBufferPointer<UInt8>) {
        counters.unknownFields += 1
        guard unknownSeen.count < 32 else { return }
        for s in unknownSeen where s.count == key.count && s.elementsEqual(key) { return }
        unknownSeen.append(Array(key))
        newUnknown.append(String(decoding: key, as: UTF8.self))
    }

    /// A mapped field's text value: a number (finite or not) makes the line usable.
    func setNumber(field f: Int, _ text: UnsafeBufferPointer<UInt8>) {
        guard let raw = numbers.parse(text) else { return }
        usable += 1
        let v = raw * scales[f] + offsets[f]
        values[f] = v.isFinite ? v : .nan
    }

    // MARK: - kv

    @inline(__always) static func isPairSeparator(_ b: UInt8) -> Bool {
        b == UInt8(ascii: ",") || b == UInt8(ascii: ";") || b == UInt8(ascii: " ") || b == UInt8(ascii: "\t")
    }

    @inline(__always) static func isBlank(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }

    /// `t=21.5,h=40.1 s=55`, `t:21.5; h: 40`, `Temperature: 21.5 Humidity: 40`. Bare words are
    /// ignored; a key without value too.
    func parseKV(_ line: UnsafeBufferPointer<UInt8>) -> LineKind {
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
}
