/// A place in a YAML text: 1-based line and column, the column counted in Unicode scalars (as
/// libyaml counts them, and as Yams reported them).
public struct YAMLMark: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) { self.line = line; self.column = column }
    /// `12:5`
    public var description: String { "\(line):\(column)" }
    public static func < (a: YAMLMark, b: YAMLMark) -> Bool { (a.line, a.column) < (b.line, b.column) }
}

/// A YAML tag in its full form (libyaml expands `!!int` to `tag:yaml.org,2002:int`).
public struct YAMLTag: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let str = YAMLTag(rawValue: "tag:yaml.org,2002:str")
    public static let null = YAMLTag(rawValue: "tag:yaml.org,2002:null")
    public static let bool = YAMLTag(rawValue: "tag:yaml.org,2002:bool")
    public static let int = YAMLTag(rawValue: "tag:yaml.org,2002:int")
    public static let float = YAMLTag(rawValue: "tag:yaml.org,2002:float")
    public static let merge = YAMLTag(rawValue: "tag:yaml.org,2002:merge")
    public static let seq = YAMLTag(rawValue: "tag:yaml.org,2002:seq")
    public static let map = YAMLTag(rawValue: "tag:yaml.org,2002:map")
    /// `!` on a node: "not a specific tag"; a scalar so tagged is a string.
    public static let nonSpecific = YAMLTag(rawValue: "!")
}

/// One YAML document as a tree: what libyaml's events compose to, with aliases replaced by the
/// node their anchor names. Every node keeps the line and column where it starts.
public enum YAMLNode: Sendable, Hashable {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence(Sequence)

    public struct Scalar: Sendable, Hashable {
        public enum Style: Sendable, Hashable {
            case plain, singleQuoted, doubleQuoted, literal, folded
        }
        /// The text, with quotes, escapes and folding already applied.
        public var value: String
        public var style: Style
        /// The tag written on the node (`!!str 10`), if any.
        public var tag: YAMLTag?
        public var mark: YAMLMark

        public init(_ value: String, style: Style = .plain, tag: YAMLTag? = nil, mark: YAMLMark = YAMLMark(line: 1, column: 1)) {
            self.value = value; self.style = style; self.tag = tag; self.mark = mark
        }

        /// Plain scalars are typed by their text (`30`, `yes`, `~`); any other style is a string.
        public var isPlain: Bool { style == .plain }

        /// The tag the scalar has: the one written on it, else `str` for a quoted or block scalar,
        /// else what its text resolves to under YAML 1.1 rules (null, bool, int, float, merge, str).
        public var resolvedTag: YAMLTag {
            if let tag { return tag == .nonSpecific ? .str : tag }
            return isPlain ? YAMLResolver.resolve(value) : .str
        }
    }

    public struct Mapping: Sendable, Hashable {
        public struct Pair: Sendable, Hashable {
            public var key: YAMLNode
            public var value: YAMLNode
            public init(key: YAMLNode, value: YAMLNode) { self.key = key; self.value = value }
        }
        /// In the order written.
        public var pairs: [Pair]
        public var tag: YAMLTag?
        public var mark: YAMLMark

        public init(_ pairs: [Pair], tag: YAMLTag? = nil, mark: YAMLMark = YAMLMark(line: 1, column: 1)) {
            self.pairs = pairs; self.tag = tag; self.mark = mark
        }

        /// The pairs with YAML merge keys (`<<: *defaults`, `<<: [*a, *b]`) applied, as Yams applied
        /// them: merged pairs first, then the mapping's own, so that a lookup taking the last match
        /// lets a mapping's own keys override merged ones, and earlier merge sources override later ones.
        public var flattenedPairs: [Pair] {
            guard pairs.contains(where: { $0.key.isMergeKey }) else { return pairs }
            var merged: [Pair] = []
            var own: [Pair] = []
            for pair in pairs {
                guard pair.key.isMergeKey else { own.append(pair); continue }
                switch pair.value {
                case .mapping(let m):
                    merged += m.flattenedPairs
                case .sequence(let s):
                    for case .mapping(let m) in s.items.reversed() { merged += m.flattenedPairs }
                case .scalar:
                    break  // as Yams: a merge of anything but mappings is ignored
                }
            }
            return merged + own
        }

        /// The pair whose key is the scalar `key` (after merges; a mapping's own key wins).
        public func pair(forKey key: String) -> Pair? {
            flattenedPairs.last(where: { $0.key.scalar?.value == key })
        }

        /// The value of the scalar key `key` (after merges; a mapping's own key wins).
        public subscript(key: String) -> YAMLNode? { pair(forKey: key)?.value }
    }

    public struct Sequence: Sendable, Hashable {
        public var items: [YAMLNode]
        public var tag: YAMLTag?
        public var mark: YAMLMark

        public init(_ items: [YAMLNode], tag: YAMLTag? = nil, mark: YAMLMark = YAMLMark(line: 1, column: 1)) {
            self.items = items; self.tag = tag; self.mark = mark
        }
    }

    /// Where the node starts.
    public var mark: YAMLMark {
        switch self {
        case .scalar(let s): return s.mark
        case .mapping(let m): return m.mark
        case .sequence(let s): return s.mark
        }
    }

    public var scalar: Scalar? { if case .scalar(let s) = self { return s } else { return nil } }
    public var mapping: Mapping? { if case .mapping(let m) = self { return m } else { return nil } }
    public var sequence: Sequence? { if case .sequence(let s) = self { return s } else { return nil } }

    /// A plain `~`, `null`, `Null`, `NULL` or nothing at all (as Yams: plain style decides, not the tag).
    public var isNull: Bool {
        guard case .scalar(let s) = self, s.isPlain else { return false }
        switch s.value {
        case "", "~", "null", "Null", "NULL": return true
        default: return false
        }
    }

    /// A plain `<<` key (or one tagged `!!merge`).
    var isMergeKey: Bool { scalar?.resolvedTag == .merge }

    /// The value at `key` of a mapping, or nil.
    public subscript(key: String) -> YAMLNode? { mapping?[key] }

    /// The item at `index` of a sequence, or nil.
    public subscript(index: Int) -> YAMLNode? {
        guard let items = sequence?.items, items.indices.contains(index) else { return nil }
        return items[index]
    }
}

extension YAMLNode {
    /// Parses `yaml` and composes its one document. Nil for a stream with no document (empty, or
    /// only comments); an error for a syntax error, an undefined alias, a duplicate key in a mapping,
    /// or a second document.
    public static func compose(yaml: String) throws(YAMLError) -> YAMLNode? {
        try compose(utf8: Array(yaml.utf8))
    }

    /// As `compose(yaml:)` over UTF-8 bytes, which libyaml checks (an invalid sequence is a reader
    /// error at its line and column).
    public static func compose(utf8 bytes: [UInt8]) throws(YAMLError) -> YAMLNode? {
        var composer = try YAMLComposer(bytes)
        return try composer.singleDocument()
    }
}

/// YAML 1.1 tag resolution for plain scalars, the rules Yams' default resolver applied (without its
/// regular expressions): bool, int, float, merge, null, else str.
public enum YAMLResolver {
    public static func resolve(_ text: String) -> YAMLTag {
        if isBool(text) { return .bool }
        let b = Array(text.utf8)
        if isInt(b[...]) { return .int }
        if isFloat(b[...]) { return .float }
        if text == "<<" { return .merge }
        if isNull(text) { return .null }
        return .str
    }

    /// `yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF`
    static func isBool(_ t: String) -> Bool {
        switch t {
        case "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE",
             "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF":
            return true
        default:
            return false
        }
    }

    /// `~|null|Null|NULL|` (empty)
    static func isNull(_ t: String) -> Bool {
        t.isEmpty || t == "~" || t == "null" || t == "Null" || t == "NULL"
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func isOctal(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x37 }
    private static func isHex(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
    }
    private static let underscore = UInt8(ascii: "_")

    /// Drops a leading `-` or `+`.
    private static func unsigned(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        if let f = s.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") { return s.dropFirst() }
        return s
    }

    /// One or more bytes, each `ok` or `_`.
    private static func allOf(_ s: ArraySlice<UInt8>, _ ok: (UInt8) -> Bool) -> Bool {
        !s.isEmpty && s.allSatisfy { ok($0) || $0 == underscore }
    }

    /// `[0-9][0-9_]*` at the start; returns what follows, or nil.
    private static func digitsRun(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard let f = s.first, isDigit(f) else { return nil }
        return s.dropFirst().drop(while: { isDigit($0) || $0 == underscore })
    }

    /// `(?::[0-5]?[0-9])+` at the start; returns what follows, or nil when there is no group.
    private static func sexagesimalGroups(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        var rest = s
        var groups = 0
        while rest.first == UInt8(ascii: ":") {
            let g = rest.dropFirst()
            guard let a = g.first, isDigit(a) else { break }
            if let b = g.dropFirst().first, isDigit(b), a <= UInt8(ascii: "5") {
                rest = g.dropFirst(2)
            } else {
                rest = g.dropFirst()
            }
            groups += 1
        }
        return groups > 0 ? rest : nil
    }

    /// ```
    /// [-+]?0b[0-1_]+ | [-+]?0o?[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
    /// | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    /// ```
    static func isInt(_ s: ArraySlice<UInt8>) -> Bool {
        let u = unsigned(s)
        guard let first = u.first else { return false }
        if first == UInt8(ascii: "0") {
            let r = u.dropFirst()
            if r.isEmpty { return true }
            if r.first == UInt8(ascii: "b"), allOf(r.dropFirst(), { $0 == 0x30 || $0 == 0x31 }) { return true }
            if r.first == UInt8(ascii: "x"), allOf(r.dropFirst(), isHex) { return true }
            if r.first == UInt8(ascii: "o"), allOf(r.dropFirst(), isOctal) { return true }
            return allOf(r, isOctal)
        }
        guard isDigit(first) else { return false }
        let rest = u.dropFirst().drop(while: { isDigit($0) || $0 == underscore })
        if rest.isEmpty { return true }
        return sexagesimalGroups(rest)?.isEmpty == true
    }

    /// ```
    /// [-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)? | \.[0-9_]+(?:[eE][-+][0-9]+)?
    /// | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
    /// ```
    static func isFloat(_ s: ArraySlice<UInt8>) -> Bool {
        let text = String(decoding: s, as: UTF8.self)
        if [".nan", ".NaN", ".NAN"].contains(text) { return true }
        let u = unsigned(s)
        let ut = String(decoding: u, as: UTF8.self)
        if [".inf", ".Inf", ".INF"].contains(ut) { return true }
        // \.[0-9_]+(?:[eE][-+][0-9]+)?  (no sign)
        if s.first == UInt8(ascii: ".") {
            let body = s.dropFirst()
            let digits = body.prefix(while: { isDigit($0) || $0 == underscore })
            guard !digits.isEmpty else { return false }
            return exponent(body.dropFirst(digits.count), signRequired: true)
        }
        guard let afterInt = digitsRun(u) else { return false }
        // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        if let afterGroups = sexagesimalGroups(afterInt) {
            guard afterGroups.first == UInt8(ascii: ".") else { return false }
            return afterGroups.dropFirst().allSatisfy { isDigit($0) || $0 == underscore }
        }
        // [-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
        var rest = afterInt
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst().drop(while: { isDigit($0) || $0 == underscore })
        }
        return exponent(rest, signRequired: false)
    }

    /// Nothing, or `[eE][-+]?[0-9]+` (sign required when asked) and nothing after.
    private static func exponent(_ s: ArraySlice<UInt8>, signRequired: Bool) -> Bool {
        if s.isEmpty { return true }
        guard s.first == UInt8(ascii: "e") || s.first == UInt8(ascii: "E") else { return false }
        var r = s.dropFirst()
        if let f = r.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") {
            r = r.dropFirst()
        } else if signRequired {
            return false
        }
        return !r.isEmpty && r.allSatisfy(isDigit)
    }
}
