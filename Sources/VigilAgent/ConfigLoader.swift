import Foundation  // Yams needs it; the rest of the agent does not.
import VigilCore
import Yams

/// A config file that cannot be used, pointing at the line and field at fault.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var line: Int?
        public var column: Int?
        public var field: String
        public var message: String
        public var description: String {
            let place = line.map { l in column.map { "\(l):\($0)" } ?? "\(l)" }
            return [place, field.isEmpty ? nil : field, message].compactMap { $0 }.joined(separator: ": ")
        }
    }
    public var file: String
    public var problems: [Problem]

    /// One line per problem: `vigil.yaml:12:5: detector.z_off: must not exceed z_on (4.0), got 5.0`.
    public var description: String {
        problems.map { "\(file):\($0)" }.joined(separator: "\n")
    }
}

/// Reads a YAML config file into a validated `VigilConfig`.
public enum ConfigLoader {
    public static func load(path: String) throws(ConfigError) -> VigilConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, problems: [.init(field: "", message: "cannot read the file: \(Self.reason(error))")])
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> VigilConfig {
        let node: Node
        do {
            guard let n = try Yams.compose(yaml: text) else {
                throw ConfigError(file: file, problems: [.init(field: "", message: "the file is empty")])
            }
            node = n
        } catch let e as ConfigError {
            throw e
        } catch let e as YamlError {
            throw ConfigError(file: file, problems: [syntaxProblem(e)])
        } catch {
            throw ConfigError(file: file, problems: [.init(field: "", message: "\(error)")])
        }
        let config: VigilConfig
        do {
            config = try YAMLDecoder().decode(VigilConfig.self, from: node)
        } catch let e as DecodingError {
            throw ConfigError(file: file, problems: [decodingProblem(e, root: node)])
        } catch {
            throw ConfigError(file: file, problems: [.init(field: "", message: "\(error)")])
        }
        let issues = config.validate()
        if !issues.isEmpty {
            throw ConfigError(file: file, problems: issues.map { problem($0, root: node) })
        }
        return config
    }

    /// Places a validation issue at the line of the field it names (or its nearest parent).
    public static func problem(_ issue: ConfigIssue, root: Node) -> ConfigError.Problem {
        let mark = locate(issue.path, in: root)
        return .init(line: mark?.line, column: mark?.column, field: issue.field, message: issue.message)
    }

    static func syntaxProblem(_ e: YamlError) -> ConfigError.Problem {
        switch e {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            return .init(line: mark.line, column: mark.column, field: "", message: "YAML syntax: \(what)")
        case let .duplicatedKeysInMapping(duplicates, context):
            return .init(line: context.mark.line, column: context.mark.column, field: "",
                         message: "duplicate key(s) \(duplicates.joined(separator: ", "))")
        default:
            return .init(field: "", message: "YAML: \(e)")
        }
    }

    static func decodingProblem(_ e: DecodingError, root: Node) -> ConfigError.Problem {
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

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "text"
        case is Int.Type, is UInt64.Type: return "a whole number"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "a mapping" }
            return "a mapping"
        }
    }

    static func found(at path: [CodingKey], root: Node) -> String {
        guard let node = node(at: path.map { $0.intValue.map(String.init) ?? $0.stringValue }, in: root) else { return "" }
        switch node {
        case .scalar(let s): return ", found '\(s.string)'"
        case .sequence: return ", found a list"
        case .mapping: return ", found a mapping"
        default: return ""
        }
    }

    /// The node at a key path, or nil.
    static func node(at path: [String], in root: Node) -> Node? {
        var current = root
        for key in path {
            switch current {
            case .mapping(let m):
                guard let v = m.first(where: { $0.key.string == key })?.value else { return nil }
                current = v
            case .sequence(let s):
                guard let i = Int(key), i >= 0, i < s.count else { return nil }
                current = s[i]
            default:
                return nil
            }
        }
        return current
    }

    /// Where a path points: the key itself when the last step is a mapping key (so an unknown or
    /// bad field is shown at its name), else the deepest node that exists.
    static func locate(_ path: [String], in root: Node) -> Mark? {
        var current = root
        var best = root.mark
        for key in path {
            switch current {
            case .mapping(let m):
                guard let pair = m.first(where: { $0.key.string == key }) else { return best }
                best = pair.key.mark ?? best
                current = pair.value
            case .sequence(let s):
                guard let i = Int(key), i >= 0, i < s.count else { return best }
                current = s[i]
                best = current.mark ?? best
            default:
                return best
            }
        }
        return best
    }

    static func reason(_ error: Error) -> String {
        let e = error as NSError
        if let underlying = e.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return e.localizedDescription
    }
}

extension ConfigLoader {
    /// Formats issues found after loading (e.g. while building sources) with their file positions.
    public static func locate(issues: [ConfigIssue], inFile path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let root = try Yams.compose(yaml: text) else { return issues.map { "\(path): \($0)" } }
        return issues.map { "\(path):\(problem($0, root: root))" }
    }
}
