import CYAML

/// What went wrong while reading a YAML text.
public enum YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// libyaml could not read, scan or parse the text, or the composer could not build one document
    /// from it (an undefined alias, a second document): libyaml's problem and the place it was found,
    /// with the context it was in (`while parsing a flow sequence` at the `[` that opened it).
    case syntax(YAMLSyntaxError)
    /// Keys written more than once in one mapping, sorted; `mark` is the first occurrence of the first.
    case duplicateKeys([String], mark: YAMLMark)

    public var description: String {
        switch self {
        case .syntax(let e): return e.description
        case let .duplicateKeys(keys, mark): return "\(mark): duplicate key(s) \(keys.joined(separator: ", "))"
        }
    }
}

/// libyaml's error fields (`yaml_parser_t.error`, `problem`, `problem_mark`, `context`, `context_mark`).
public struct YAMLSyntaxError: Sendable, Equatable, CustomStringConvertible {
    /// Which part of the parser failed (`YAML_READER_ERROR` …), or the composer on top of it.
    public enum Stage: String, Sendable {
        case memory, reader, scanner, parser, composer
    }
    public var stage: Stage
    /// `found character that cannot start any token`, `did not find expected ',' or ']'`, …
    public var problem: String
    /// Where the problem is. For a reader error (bad UTF-8, a control character) libyaml gives a
    /// byte offset; it is turned into a line and column here.
    public var mark: YAMLMark?
    /// `while parsing a flow sequence`, …; nil when libyaml gives none.
    public var context: String?
    public var contextMark: YAMLMark?

    public init(stage: Stage, problem: String, mark: YAMLMark?, context: String? = nil, contextMark: YAMLMark? = nil) {
        self.stage = stage; self.problem = problem; self.mark = mark; self.context = context; self.contextMark = contextMark
    }

    /// `2:1: while parsing a flow sequence did not find expected ',' or ']'`
    public var description: String {
        let what = [context, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        return mark.map { "\($0): \(what)" } ?? what
    }
}

/// One libyaml event, copied out of `yaml_event_t` (whose memory is then freed).
struct YAMLEvent {
    enum Kind {
        case streamStart
        case streamEnd
        case documentStart(implicit: Bool)
        case documentEnd(implicit: Bool)
        case alias(anchor: String)
        case scalar(value: String, anchor: String?, tag: String?, style: YAMLNode.Scalar.Style)
        /// `tag` only when written (libyaml's `implicit` is false).
        case sequenceStart(anchor: String?, tag: String?)
        case sequenceEnd
        case mappingStart(anchor: String?, tag: String?)
        case mappingEnd
    }
    var kind: Kind
    var start: YAMLMark
    var end: YAMLMark
}

/// libyaml's event parser (`yaml_parser_t`), one Swift call per C call: `init` is
/// `yaml_parser_initialize`, `setInput` is `yaml_parser_set_input_string`, `parse` is
/// `yaml_parser_parse` (and `yaml_event_delete` once the event is copied), `deinit` is
/// `yaml_parser_delete`.
final class LibYAMLParser {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    /// libyaml reads the input lazily and does not copy it: the parser owns this copy until deinit.
    private var input: UnsafeMutableBufferPointer<UInt8>?

    /// `yaml_parser_initialize`. Fails only when libyaml cannot allocate its buffers.
    init() throws(YAMLError) {
        let p = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        guard yaml_parser_initialize(p) == 1 else {
            p.deallocate()
            throw .syntax(YAMLSyntaxError(stage: .memory, problem: "out of memory", mark: nil))
        }
        parser = p
    }

    /// `yaml_parser_delete`.
    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input?.deallocate()
    }

    /// `yaml_parser_set_input_string` over a copy of `bytes`. Once per parser (libyaml asserts it).
    func setInput(_ bytes: [UInt8]) {
        precondition(input == nil, "LibYAMLParser.setInput called twice")
        let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        _ = copy.initialize(from: bytes)
        input = copy
        yaml_parser_set_input_string(parser, copy.baseAddress, bytes.count)
    }

    /// `yaml_parser_parse`: the next event, or libyaml's error with its problem, context and marks.
    func parse() throws(YAMLError) -> YAMLEvent {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw .syntax(currentError()) }
        defer { yaml_event_delete(&event) }
        return YAMLEvent(kind: Self.kind(of: event), start: Self.mark(event.start_mark), end: Self.mark(event.end_mark))
    }

    /// libyaml's error after a failed call.
    private func currentError() -> YAMLSyntaxError {
        let p = parser.pointee
        let problem = p.problem.map { String(cString: $0) } ?? "unknown error"
        let context = p.context.map { String(cString: $0) }
        let contextMark = p.context == nil ? nil : Self.mark(p.context_mark)
        switch p.error {
        case YAML_MEMORY_ERROR:
            return YAMLSyntaxError(stage: .memory, problem: p.problem.map { String(cString: $0) } ?? "out of memory", mark: nil)
        case YAML_READER_ERROR:
            return YAMLSyntaxError(stage: .reader, problem: problem, mark: input.map { Self.mark(atByteOffset: p.problem_offset, in: $0) })
        case YAML_SCANNER_ERROR:
            return YAMLSyntaxError(stage: .scanner, problem: problem, mark: Self.mark(p.problem_mark), context: context, contextMark: contextMark)
        default:
            return YAMLSyntaxError(stage: .parser, problem: problem, mark: Self.mark(p.problem_mark), context: context, contextMark: contextMark)
        }
    }

    /// libyaml counts lines and columns from 0; people (and Yams) from 1.
    static func mark(_ m: yaml_mark_t) -> YAMLMark {
        YAMLMark(line: Int(m.line) + 1, column: Int(m.column) + 1)
    }

    /// Line and column of a byte offset in UTF-8 input, counted as libyaml counts them: a line ends
    /// at LF, CR LF or a lone CR; a column is a Unicode scalar (a UTF-8 continuation byte does not
    /// start one); a leading byte-order mark is not a column.
    static func mark(atByteOffset offset: Int, in bytes: UnsafeMutableBufferPointer<UInt8>) -> YAMLMark {
        var line = 1, column = 1
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let end = min(offset, bytes.count)
        while i < end {
            let b = bytes[i]
            if b == 0x0A || (b == 0x0D && (i + 1 >= bytes.count || bytes[i + 1] != 0x0A)) {
                line += 1; column = 1
            } else if b & 0xC0 != 0x80 && b != 0x0D {
                column += 1
            }
            i += 1
        }
        return YAMLMark(line: line, column: column)
    }

    /// An anchor or tag (NUL-terminated UTF-8).
    private static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        p.map { String(cString: UnsafePointer($0)) }
    }

    private static func kind(of e: yaml_event_t) -> YAMLEvent.Kind {
        switch e.type {
        case YAML_STREAM_START_EVENT:
            return .streamStart
        case YAML_STREAM_END_EVENT:
            return .streamEnd
        case YAML_DOCUMENT_START_EVENT:
            return .documentStart(implicit: e.data.document_start.implicit != 0)
        case YAML_DOCUMENT_END_EVENT:
            return .documentEnd(implicit: e.data.document_end.implicit != 0)
        case YAML_ALIAS_EVENT:
            return .alias(anchor: string(e.data.alias.anchor) ?? "")
        case YAML_SCALAR_EVENT:
            let s = e.data.scalar
            // A scalar may hold NUL characters: take `length` bytes, not a C string.
            let value = s.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: s.length), as: UTF8.self) } ?? ""
            let style: YAMLNode.Scalar.Style
            switch s.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: style = .literal
            case YAML_FOLDED_SCALAR_STYLE: style = .folded
            default: style = .plain
            }
            return .scalar(value: value, anchor: string(s.anchor), tag: string(s.tag), style: style)
        case YAML_SEQUENCE_START_EVENT:
            let s = e.data.sequence_start
            return .sequenceStart(anchor: string(s.anchor), tag: s.implicit != 0 ? nil : string(s.tag))
        case YAML_SEQUENCE_END_EVENT:
            return .sequenceEnd
        case YAML_MAPPING_START_EVENT:
            let m = e.data.mapping_start
            return .mappingStart(anchor: string(m.anchor), tag: m.implicit != 0 ? nil : string(m.tag))
        case YAML_MAPPING_END_EVENT:
            return .mappingEnd
        default:
            return .streamEnd  // YAML_NO_EVENT: libyaml gives it only after the stream has ended
        }
    }
}
