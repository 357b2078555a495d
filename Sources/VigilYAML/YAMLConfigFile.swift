import VigilCore

/// A config file that cannot be used, pointing at the line and field at fault.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var line: Int?
        public var column: Int?
        public var field: String
        public var message: String
        public init(line: Int? = nil, column: Int? = nil, field: String, message: String) {
            self.line = line; self.column = column; self.field = field; self.message = message
        }
        public var description: String {
            let place = line.map { l in column.map { "\(l):\($0)" } ?? "\(l)" }
            return [place, field.isEmpty ? nil : field, message].compactMap { $0 }.joined(separator: ": ")
        }
    }
    public var file: String
    public var problems: [Problem]
    public init(file: String, problems: [Problem]) { self.file = file; self.problems = problems }

    /// One line per problem: `vigil.yaml:12:5: detector.z_off: must not exceed z_on (4.0), got 5.0`.
    public var description: String {
        problems.map { "\(file):\($0)" }.joined(separator: "\n")
    }
}

/// A YAML config file decoded into a `Decodable` type, every problem placed at its file, line and column:
/// the agent's config and the fleet receiver's share it.
public enum YAMLConfigFile {
    /// Decodes `bytes` (UTF-8 as read, so libyaml places a bad byte) into `T`; the composed tree comes back too,
    /// to place problems found later (`problem(_:root:)`).
    public static func decode<T: Decodable>(_ type: T.Type, utf8 bytes: [UInt8], file: String,
                                            userInfo: [CodingUserInfoKey: any Sendable] = [:]) throws(ConfigError) -> (T, YAMLNode) {
        let composed: YAMLNode?
        do {
            composed = try YAMLNode.compose(utf8: bytes)
        } catch {
            throw ConfigError(file: file, problems: [syntaxProblem(error)])
        }
        guard let node = composed else {
            throw ConfigError(file: file, problems: [.init(field: "", message: "the file is empty")])
        }
        do {
            var decoder = YAMLNodeDecoder()
            decoder.userInfo = userInfo
            return (try decoder.decode(T.self, from: node), node)
        } catch let e as DecodingError {
            throw ConfigError(file: file, problems: [decodingProblem(e, root: node)])
        } catch {
            throw ConfigError(file: file, problems: [.init(field: "", message: "\(error)")])
        }
    }

    /// Places a validation issue at the line of the field it names (or its nearest parent).
    public static func problem(_ issue: ConfigIssue, root: YAMLNode) -> ConfigError.Problem {
        let mark = locate(issue.path, in: root)
        return .init(line: mark?.line, column: mark?.column, field: issue.field, message: issue.message)
    }

    public static func syntaxProblem(_ e: YAMLError) -> ConfigError.Problem {
        switch e {
        case .syntax(let s):
            let what = [s.context, s.problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            return .init(line: s.mark?.line, column: s.mark?.column, field: "", message: "YAML syntax: \(what)")
        case let .duplicateKeys(keys, mark):
            return .init(line: mark.line, column: mark.column, field: "", message: "duplicate key(s) \(keys.joined(separator: ", "))")
        }
    }

    public static func decodingProblem(_ e: DecodingError, root: YAMLNode) -> ConfigError.Problem {
        let path: [CodingKey]
        let message: String
        switch e {
        case let .keyNotFound(key, ctx):
            path = ctx.codingPath
            message = "missing required field '\(key.stringValue)'"
        case let .typeMismatch(type, ctx):
            path = ctx.codingPath
            message = "expected \(describe(type))\(found(at: ctx.codingPath, root: root))"
        case let .valueNotFound(type, ctx):
            path = ctx.codingPath
            message = "expected \(describe(type)), found nothing"
        case let .dataCorrupted(ctx):
            path = ctx.codingPath
            message = ctx.debugDescription
        @unknown default:
            path = []
            message = "\(e)"
        }
        let keys = path.map { $0.intValue.map(String.init) ?? $0.stringValue }
        var p = problem(ConfigIssue(keys, message), root: root)
        // A missing key is placed at its parent but named in full.
        if case let .keyNotFound(key, _) = e { p.field = ConfigIssue(keys + [key.stringValue], message).field }
        return p
    }

    public static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "text"
        case is any BinaryInteger.Type: return "a whole number"
        case is any BinaryFloatingPoint.Type: return "a number"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "a mapping" }
            return "a mapping"
        }
    }

    public static func found(at path: [CodingKey], root: YAMLNode) -> String {
        guard let node = node(at: path.map { $0.intValue.map(String.init) ?? $0.stringValue }, in: root) else { return "" }
        switch node {
        case .scalar(let s): return ", found '\(s.value)'"
        case .sequence: return ", found a list"
        case .mapping: return ", found a mapping"
        }
    }

    /// The node at a key path, or nil.
    public static func node(at path: [String], in root: YAMLNode) -> YAMLNode? {
        var current = root
        for key in path {
            switch current {
            case .mapping(let m):
                guard let v = m[key] else { return nil }
                current = v
            case .sequence(let s):
                guard let i = Int(key), i >= 0, i < s.items.count else { return nil }
                current = s.items[i]
            default:
                return nil
            }
        }
        return current
    }

    /// Where a path points: the key itself when the last step is a mapping key (so an unknown or
    /// bad field is shown at its name), else the deepest node that exists.
    public static func locate(_ path: [String], in root: YAMLNode) -> YAMLMark? {
        var current = root
        var best = root.mark
        for key in path {
            switch current {
            case .mapping(let m):
                guard let pair = m.pair(forKey: key) else { return best }
                best = pair.key.mark
                current = pair.value
            case .sequence(let s):
                guard let i = Int(key), i >= 0, i < s.items.count else { return best }
                current = s.items[i]
                best = current.mark
            default:
                return best
            }
        }
        return best
    }

}
