/// Builds `YAMLNode` trees from libyaml's events: aliases replaced by the node of their anchor (the
/// latest one of that name, as YAML says), duplicate keys rejected, nesting and expansion bounded.
struct YAMLComposer {
    /// Deeper than this is not a config file; it would only risk the stack.
    static let maxDepth = 512
    /// More nodes than this, counting each alias as all the nodes it repeats, is not a config file
    /// either: ten lines of nested merge keys (`<<: [*m4, *m4, …]`) expand to millions of pairs.
    static let maxExpandedNodes = 100_000

    /// A node and how many nodes it stands for once its aliases are expanded.
    private typealias Composed = (node: YAMLNode, expandedSize: Int)

    private let parser: LibYAMLParser
    private var anchors: [String: Composed] = [:]

    init(_ bytes: [UInt8]) throws(YAMLError) {
        parser = try LibYAMLParser()
        // No yaml_parser_set_encoding: libyaml then reads a byte-order mark and skips it (set
        // explicitly, it would count the mark as a column and misread the indentation of line 1).
        parser.setInput(bytes)
        guard case .streamStart = try parser.parse().kind else {
            throw .syntax(YAMLSyntaxError(stage: .composer, problem: "expected the start of a stream", mark: nil))
        }
    }

    /// The stream's one document; nil when it has none; an error when it has more than one.
    mutating func singleDocument() throws(YAMLError) -> YAMLNode? {
        guard let root = try nextDocument() else { return nil }
        let next = try parser.parse()
        if case .streamEnd = next.kind { return root }
        throw .syntax(YAMLSyntaxError(stage: .composer, problem: "but found another document", mark: next.start,
                                      context: "expected a single document in the stream"))
    }

    /// The next document's root node, or nil at the end of the stream.
    mutating func nextDocument() throws(YAMLError) -> YAMLNode? {
        let start = try parser.parse()
        switch start.kind {
        case .streamEnd: return nil
        case .documentStart: break
        default: throw unexpected(start, "the start of a document")
        }
        let root = try node(from: try parser.parse(), depth: 0).node
        let end = try parser.parse()
        guard case .documentEnd = end.kind else { throw unexpected(end, "the end of a document") }
        return root
    }

    private mutating func node(from event: YAMLEvent, depth: Int) throws(YAMLError) -> Composed {
        switch event.kind {
        case .alias(let name):
            guard let target = anchors[name] else {
                throw .syntax(YAMLSyntaxError(stage: .composer, problem: "found undefined alias", mark: event.start))
            }
            return target
        case let .scalar(value, anchor, tag, style):
            let n: Composed = (.scalar(.init(value, style: style, tag: tag.map(YAMLTag.init(rawValue:)), mark: event.start)), 1)
            register(anchor, n)
            return n
        case let .sequenceStart(anchor, tag):
            try checkDepth(depth, event)
            var items: [YAMLNode] = []
            var size = 1
            while true {
                let e = try parser.parse()
                if case .sequenceEnd = e.kind { break }
                let item = try node(from: e, depth: depth + 1)
                items.append(item.node)
                size = try Self.expanded(size, by: item.expandedSize, event)
            }
            let n: Composed = (.sequence(.init(items, tag: tag.map(YAMLTag.init(rawValue:)), mark: event.start)), size)
            register(anchor, n)
            return n
        case let .mappingStart(anchor, tag):
            try checkDepth(depth, event)
            var pairs: [YAMLNode.Mapping.Pair] = []
            var size = 1
            while true {
                let e = try parser.parse()
                if case .mappingEnd = e.kind { break }
                let key = try node(from: e, depth: depth + 1)
                let value = try node(from: try parser.parse(), depth: depth + 1)
                pairs.append(.init(key: key.node, value: value.node))
                size = try Self.expanded(size, by: key.expandedSize + value.expandedSize, event)
            }
            try Self.checkDuplicates(pairs)
            let n: Composed = (.mapping(.init(pairs, tag: tag.map(YAMLTag.init(rawValue:)), mark: event.start)), size)
            register(anchor, n)
            return n
        default:
            throw unexpected(event, "a node")
        }
    }

    private mutating func register(_ anchor: String?, _ node: Composed) {
        if let anchor { anchors[anchor] = node }
    }

    /// `size + more`, or an error at the collection that grew past `maxExpandedNodes` (both terms
    /// are at most that bound, so the sum cannot overflow).
    private static func expanded(_ size: Int, by more: Int, _ event: YAMLEvent) throws(YAMLError) -> Int {
        let total = size + more
        if total > maxExpandedNodes {
            throw .syntax(YAMLSyntaxError(stage: .composer, problem: "more than \(maxExpandedNodes) nodes once aliases are expanded", mark: event.start))
        }
        return total
    }

    private func checkDepth(_ depth: Int, _ event: YAMLEvent) throws(YAMLError) {
        if depth >= Self.maxDepth {
            throw .syntax(YAMLSyntaxError(stage: .composer, problem: "nested deeper than \(Self.maxDepth) levels", mark: event.start))
        }
    }

    /// Scalar keys are compared by their text (which is how the decoder finds them). As Yams
    /// reported it: the duplicated keys sorted, at the first occurrence of the first of them.
    static func checkDuplicates(_ pairs: [YAMLNode.Mapping.Pair]) throws(YAMLError) {
        guard pairs.count > 1 else { return }
        var first: [String: YAMLMark] = [:]
        var duplicated: Set<String> = []
        for pair in pairs {
            guard case .scalar(let k) = pair.key else { continue }
            if first[k.value] == nil { first[k.value] = k.mark } else { duplicated.insert(k.value) }
        }
        guard !duplicated.isEmpty else { return }
        let keys = duplicated.sorted()
        throw .duplicateKeys(keys, mark: first[keys[0]]!)
    }

    private func unexpected(_ e: YAMLEvent, _ wanted: String) -> YAMLError {
        .syntax(YAMLSyntaxError(stage: .composer, problem: "expected \(wanted), found \(e.kind)", mark: e.start))
    }
}
