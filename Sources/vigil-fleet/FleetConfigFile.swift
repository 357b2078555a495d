import VigilCore
import VigilIO
import VigilYAML

/// The receiver's YAML config (`--config /etc/vigil/fleet.yaml`): the options' settings under snake_case keys,
/// every key optional; an option given on the command line wins over the file.
///
///     broker: mqtt://127.0.0.1:1883
///     http:
///       listen: 0.0.0.0:8080
///       users: /etc/vigil/fleet-users
struct FleetConfigFile: Decodable, Equatable {
    var broker: String?
    var prefix: String?
    var db: String?
    var clientID: String?
    var group: String?
    var retention: String?
    var rollupRetention: String?
    var keepalive: String?
    var maxBatch: Int?
    var logLevel: String?
    var http: HTTP?

    struct HTTP: Decodable, Equatable {
        var listen: String?
        var users: String?
        var tokens: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case listen, users, tokens }
        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            listen = try c.decodeIfPresent(String.self, forKey: .listen)
            users = try c.decodeIfPresent(String.self, forKey: .users)
            tokens = try c.decodeIfPresent(String.self, forKey: .tokens)
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case broker, prefix, db, group, retention, keepalive, http
        case clientID = "client_id", rollupRetention = "rollup_retention", maxBatch = "max_batch", logLevel = "log_level"
    }

    init() {}
    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        broker = try c.decodeIfPresent(String.self, forKey: .broker)
        prefix = try c.decodeIfPresent(String.self, forKey: .prefix)
        db = try c.decodeIfPresent(String.self, forKey: .db)
        clientID = try c.decodeIfPresent(String.self, forKey: .clientID)
        group = try c.decodeIfPresent(String.self, forKey: .group)
        retention = try c.decodeIfPresent(String.self, forKey: .retention)
        rollupRetention = try c.decodeIfPresent(String.self, forKey: .rollupRetention)
        keepalive = try c.decodeIfPresent(String.self, forKey: .keepalive)
        maxBatch = try c.decodeIfPresent(Int.self, forKey: .maxBatch)
        logLevel = try c.decodeIfPresent(String.self, forKey: .logLevel)
        http = try c.decodeIfPresent(HTTP.self, forKey: .http)
    }

    /// No config comes near this; a larger file is refused before it fills memory.
    static let maxBytes = 1 << 20

    /// The file decoded, with its tree to place later problems at their lines.
    static func load(_ path: String) throws(ConfigError) -> (FleetConfigFile, YAMLNode) {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.readRegularFile(path, maxBytes: maxBytes).bytes
        } catch {
            let reason = error.tooLarge ? "larger than \(maxBytes) bytes (1 MiB), too large for a config" : error.reason
            throw ConfigError(file: path, problems: [.init(field: "", message: "cannot read the file: \(reason)")])
        }
        return try YAMLConfigFile.decode(FleetConfigFile.self, utf8: bytes, file: path)
    }
}

/// Where a setting came from, so a problem names the option or the file, line and key: `--broker: …` or
/// `/etc/vigil/fleet.yaml:2:1: broker: …`.
struct SettingOrigin {
    var option: String
    var file: (path: String, root: YAMLNode, key: [String])?

    func problem(_ why: String) -> String {
        guard let file else { return "\(option): \(why)" }
        return "\(file.path):\(YAMLConfigFile.problem(ConfigIssue(file.key, why), root: file.root))"
    }
}

/// The settings as given: each from the command line, else the config file, else its default.
struct GivenSettings {
    var file: (path: String, config: FleetConfigFile, root: YAMLNode)?

    /// The command line's value, else the file's at `key`, else `fallback`; with where it came from.
    func pick<T>(_ option: String, _ cli: T?, _ key: [String], _ fromFile: (FleetConfigFile) -> T?, _ fallback: T) -> (T, SettingOrigin) {
        let (value, origin) = pick(option, cli, key, fromFile)
        return (value ?? fallback, origin)
    }

    /// The same for a setting without a default: nil when neither gives it.
    func pick<T>(_ option: String, _ cli: T?, _ key: [String], _ fromFile: (FleetConfigFile) -> T?) -> (T?, SettingOrigin) {
        if let cli { return (cli, SettingOrigin(option: option)) }
        if let file, let v = fromFile(file.config) { return (v, SettingOrigin(option: option, file: (file.path, file.root, key))) }
        return (nil, SettingOrigin(option: option))
    }
}
