import VigilCore
import VigilIO
import VigilSources
// The YAML layer and `ConfigError` live in VigilYAML (shared with vigil-fleet); the agent's users see them here.
@_exported import VigilYAML

/// Reads a YAML config file into a validated `VigilConfig`.
public enum ConfigLoader {
    /// No config comes near this; a larger file (or an endless one) is refused before it fills memory.
    public static let maxBytes = 1 << 20

    public static func load(path: String) throws(ConfigError) -> VigilConfig {
        let bytes: [UInt8]
        do {
            bytes = try readFile(path)
        } catch {
            let reason = error.tooLarge ? "larger than \(maxBytes) bytes (1 MiB), too large for a config" : error.reason
            throw ConfigError(file: path, problems: [.init(field: "", message: "cannot read the file: \(reason)")])
        }
        return try parse(utf8: bytes, file: path, detectedBoard: BoardDetection.detect())
    }

    public static func parse(_ text: String, file: String, detectedBoard: Board? = nil) throws(ConfigError) -> VigilConfig {
        try parse(utf8: Array(text.utf8), file: file, detectedBoard: detectedBoard)
    }

    /// UTF-8 as read from the file: libyaml checks it, and places a bad byte at its line and column.
    /// - Parameter detectedBoard: this machine's preset; GPIO lines are checked against it when the
    ///   config leaves `board` unset or `auto`.
    static func parse(utf8 bytes: [UInt8], file: String, detectedBoard: Board? = nil) throws(ConfigError) -> VigilConfig {
        var userInfo: [CodingUserInfoKey: any Sendable] = [:]
        userInfo[.sourceKinds] = SourceKinds.decoders
        let (config, node) = try YAMLConfigFile.decode(VigilConfig.self, utf8: bytes, file: file, userInfo: userInfo)
        var issues = config.validate()
        if config.detectsBoard, let board = detectedBoard { issues += config.gpioIssues(on: board) }
        if !issues.isEmpty {
            throw ConfigError(file: file, problems: issues.map { YAMLConfigFile.problem($0, root: node) })
        }
        return config
    }

    /// The whole file, which must be a regular one of at most `maxBytes` (not /dev/zero, not a FIFO).
    static func readFile(_ path: String) throws(FileIOError) -> [UInt8] {
        try FileIO.readRegularFile(path, maxBytes: maxBytes).bytes
    }
}

extension ConfigLoader {
    /// Formats issues found after loading (e.g. while building sources) with their file positions.
    public static func locate(issues: [ConfigIssue], inFile path: String) throws -> [String] {
        guard let root = try YAMLNode.compose(utf8: try readFile(path)) else { return issues.map { "\(path): \($0)" } }
        return issues.map { "\(path):\(YAMLConfigFile.problem($0, root: root))" }
    }
}
