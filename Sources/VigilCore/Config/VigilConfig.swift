/// The whole agent configuration: one file, read once at start.
public struct VigilConfig: Sendable, Decodable {
    /// Identifies this gateway in topics and payloads: letters, digits, `.`, `_`, `-`.
    public var device: String
    public var mqtt: MQTTConfig
    /// Detector settings for every channel …
    public var detector: DetectorConfig
    /// … and per-channel overrides, by channel name.
    public var channels: [String: DetectorConfig]
    public var summary: SummaryConfig
    public var logLevel: LogLevel
    public var sources: [SourceConfig]

    public enum LogLevel: String, Sendable, Codable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case device, mqtt, detector, channels, summary, sources
        case logLevel = "log_level"
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        device = try c.decode(String.self, forKey: .device)
        mqtt = try c.decodeIfPresent(MQTTConfig.self, forKey: .mqtt) ?? MQTTConfig()
        detector = try c.decodeIfPresent(DetectorConfig.self, forKey: .detector) ?? DetectorConfig()
        channels = try c.decodeIfPresent([String: DetectorConfig].self, forKey: .channels) ?? [:]
        summary = try c.decodeIfPresent(SummaryConfig.self, forKey: .summary) ?? SummaryConfig()
        logLevel = try c.decodeIfPresent(LogLevel.self, forKey: .logLevel) ?? .info
        sources = try c.decode([SourceConfig].self, forKey: .sources)
    }

    /// The effective detector settings of a channel: defaults, then its override.
    public func detectorSettings(forChannel name: String) -> DetectorSettings {
        var s = detector.applied(to: DetectorSettings())
        if let o = channels[name] { s = o.applied(to: s) }
        return s
    }

    /// Every channel name with the path of the config entry that defines it.
    public var channelNames: [(name: String, path: [String])] {
        sources.enumerated().flatMap { (i, source) in
            source.channelNames.enumerated().map { (j, n) in (n, ["sources", "\(i)", "channels", "\(j)", "name"]) }
        }
    }

    /// Semantic checks after decoding; each issue names its field.
    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if !Self.isTopicSafe(device) {
            issues.append(ConfigIssue(["device"], "must be non-empty and use only letters, digits, '.', '_' or '-', got '\(device)'"))
        }
        issues += mqtt.validate().map { ConfigIssue(["mqtt"] + $0.path, $0.message) }
        let defaultProblems = detector.applied(to: DetectorSettings()).problems()
        for (field, message) in defaultProblems {
            issues.append(ConfigIssue(["detector"] + DetectorConfig.path(of: field), message))
        }
        if summary.interval.nanoseconds < 1_000_000_000 {
            issues.append(ConfigIssue(["summary", "interval"], "must be at least 1s, got \(summary.interval)"))
        }
        if sources.isEmpty { issues.append(ConfigIssue(["sources"], "must list at least one source")) }
        var seenSources: [String: Int] = [:]
        var seenChannels: Set<String> = []
        for (i, source) in sources.enumerated() {
            if let j = seenSources[source.name] {
                issues.append(ConfigIssue(["sources", "\(i)", "name"], "'\(source.name)' is already the name of sources[\(j)]"))
            }
            seenSources[source.name] = i
            issues += source.validate().map { ConfigIssue(["sources", "\(i)"] + $0.path, $0.message) }
        }
        for (name, path) in channelNames {
            if !Self.isTopicSafe(name) {
                issues.append(ConfigIssue(path, "channel names appear in topics: use only letters, digits, '.', '_' or '-', got '\(name)'"))
            } else if !seenChannels.insert(name).inserted {
                issues.append(ConfigIssue(path, "channel '\(name)' is defined twice"))
            }
        }
        for name in channels.keys.sorted() {
            if !seenChannels.contains(name) {
                issues.append(ConfigIssue(["channels", name], "no source has a channel named '\(name)' (channels: \(seenChannels.sorted().joined(separator: ", ")))"))
                continue
            }
            // A problem in the defaults is reported once, not again for every override.
            for (field, message) in detectorSettings(forChannel: name).problems() where defaultProblems.isEmpty {
                issues.append(ConfigIssue(["channels", name] + DetectorConfig.path(of: field), message))
            }
        }
        return issues
    }

    static func isTopicSafe(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 46 || c == 95
        }
    }
}

/// One problem in a config file, named by the path of keys (and list indices) that lead to it.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    public var path: [String]
    public var message: String
    public init(_ path: [String], _ message: String) { self.path = path; self.message = message }

    /// `sources[0].channels[1].std`
    public var field: String {
        var out = ""
        for p in path {
            if let _ = Int(p) { out += "[\(p)]" } else { out += out.isEmpty ? p : ".\(p)" }
        }
        return out
    }
    public var description: String { field.isEmpty ? message : "\(field): \(message)" }
}

public struct MQTTConfig: Sendable, Decodable {
    /// `mqtt://HOST[:PORT]` (1883 by default).
    public var broker: String = "mqtt://127.0.0.1:1883"
    /// Defaults to `vigil-<device>`.
    public var clientID: String? = nil
    public var keepalive: ConfigDuration = .seconds(30)
    public var topicPrefix: String = "vigil"
    public var reconnectMin: ConfigDuration = .seconds(1)
    public var reconnectMax: ConfigDuration = .seconds(60)
    /// Most messages held in memory while the broker is unreachable.
    public var queueLimit: Int = 10_000

    enum CodingKeys: String, CodingKey, CaseIterable {
        case broker, keepalive
        case clientID = "client_id", topicPrefix = "topic_prefix"
        case reconnectMin = "reconnect_min", reconnectMax = "reconnect_max", queueLimit = "queue_limit"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = MQTTConfig()
        broker = try c.decodeIfPresent(String.self, forKey: .broker) ?? d.broker
        clientID = try c.decodeIfPresent(String.self, forKey: .clientID)
        keepalive = try c.decodeIfPresent(ConfigDuration.self, forKey: .keepalive) ?? d.keepalive
        topicPrefix = try c.decodeIfPresent(String.self, forKey: .topicPrefix) ?? d.topicPrefix
        reconnectMin = try c.decodeIfPresent(ConfigDuration.self, forKey: .reconnectMin) ?? d.reconnectMin
        reconnectMax = try c.decodeIfPresent(ConfigDuration.self, forKey: .reconnectMax) ?? d.reconnectMax
        queueLimit = try c.decodeIfPresent(Int.self, forKey: .queueLimit) ?? d.queueLimit
    }

    func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if case .failure(let e) = BrokerAddress.parse(broker) { issues.append(ConfigIssue(["broker"], e.message)) }
        if keepalive.nanoseconds < 5_000_000_000 || keepalive.nanoseconds > 65_535_000_000_000 {
            issues.append(ConfigIssue(["keepalive"], "must be between 5s and 65535s, got \(keepalive)"))
        }
        if topicPrefix.isEmpty || topicPrefix.contains("+") || topicPrefix.contains("#") || topicPrefix.hasSuffix("/") || topicPrefix.hasPrefix("/") {
            issues.append(ConfigIssue(["topic_prefix"], "must be non-empty, without '+', '#' or a leading/trailing '/', got '\(topicPrefix)'"))
        }
        if let id = clientID, id.isEmpty || id.utf8.count > 128 {
            issues.append(ConfigIssue(["client_id"], "must be 1 to 128 bytes"))
        }
        if reconnectMin.nanoseconds < 100_000_000 { issues.append(ConfigIssue(["reconnect_min"], "must be at least 100ms, got \(reconnectMin)")) }
        if reconnectMax < reconnectMin { issues.append(ConfigIssue(["reconnect_max"], "must not be below reconnect_min (\(reconnectMin)), got \(reconnectMax)")) }
        if queueLimit < 1 { issues.append(ConfigIssue(["queue_limit"], "must be at least 1, got \(queueLimit)")) }
        return issues
    }
}

/// `mqtt://host:port` split into parts.
public struct BrokerAddress: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) { self.host = host; self.port = port }

    public struct ParseError: Error, Equatable { public var message: String }

    public static func parse(_ url: String) -> Result<BrokerAddress, ParseError> {
        guard url.hasPrefix("mqtt://") else {
            return .failure(ParseError(message: "'\(url)' is not an mqtt:// URL (mqtts:// and TLS are not supported yet)"))
        }
        var rest = Substring(url.dropFirst("mqtt://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@") else {
            return .failure(ParseError(message: "'\(url)' must be mqtt://HOST or mqtt://HOST:PORT"))
        }
        var host = rest
        var port = 1883
        if rest.hasPrefix("[") {  // [::1]:1883
            guard let close = rest.firstIndex(of: "]") else { return .failure(ParseError(message: "'\(url)' has an unclosed '['")) }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { return .failure(ParseError(message: "'\(url)' has a bad port")) }
                port = p
            } else if !after.isEmpty { return .failure(ParseError(message: "'\(url)' must be mqtt://[IPv6]:PORT")) }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                return .failure(ParseError(message: "'\(url)' has a bad port (1 to 65535)"))
            }
            port = p
        }
        guard !host.isEmpty else { return .failure(ParseError(message: "'\(url)' has no host")) }
        return .success(BrokerAddress(host: String(host), port: port))
    }
}

/// Detector settings as written in the file: every field optional, applied over defaults.
public struct DetectorConfig: Sendable, Decodable {
    public var window: Int?
    public var windowDuration: ConfigDuration?
    public var warmup: Int?
    public var zOn: Double?
    public var zOff: Double?
    public var endAfter: Int?
    public var stdFloor: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case window, warmup
        case windowDuration = "window_duration", zOn = "z_on", zOff = "z_off", endAfter = "end_after", stdFloor = "std_floor"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        window = try c.decodeIfPresent(Int.self, forKey: .window)
        windowDuration = try c.decodeIfPresent(ConfigDuration.self, forKey: .windowDuration)
        warmup = try c.decodeIfPresent(Int.self, forKey: .warmup)
        zOn = try c.decodeIfPresent(Double.self, forKey: .zOn)
        zOff = try c.decodeIfPresent(Double.self, forKey: .zOff)
        endAfter = try c.decodeIfPresent(Int.self, forKey: .endAfter)
        stdFloor = try c.decodeIfPresent(Double.self, forKey: .stdFloor)
    }

    public func applied(to base: DetectorSettings) -> DetectorSettings {
        var s = base
        if let v = window { s.windowSize = v }
        if let v = windowDuration { s.windowDuration = v }
        if let v = warmup { s.warmup = v }
        if let v = zOn { s.zOn = v }
        if let v = zOff { s.zOff = v }
        if let v = endAfter { s.endAfter = v }
        if let v = stdFloor { s.stdFloor = v }
        return s
    }

    /// Maps a `DetectorSettings.problems()` field name to the config key path.
    static func path(of field: String) -> [String] {
        switch field {
        case "window.size": return ["window"]
        case "window.duration": return ["window_duration"]
        default: return [field]
        }
    }
}

public struct SummaryConfig: Sendable, Decodable {
    public var interval: ConfigDuration = .seconds(60)
    enum CodingKeys: String, CodingKey, CaseIterable { case interval }
    public init() {}
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        interval = try c.decodeIfPresent(ConfigDuration.self, forKey: .interval) ?? .seconds(60)
    }
}

/// A source of readings; `kind` picks which.
public enum SourceConfig: Sendable, Decodable {
    case simulator(SimulatorSourceConfig)

    public static let kinds = ["simulator"]

    enum KindKey: String, CodingKey { case kind }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: KindKey.self)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "simulator": self = .simulator(try SimulatorSourceConfig(from: decoder))
        default:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c,
                debugDescription: "unknown source kind '\(kind)' (known: \(Self.kinds.joined(separator: ", ")))")
        }
    }

    public var name: String {
        switch self { case .simulator(let s): return s.name }
    }

    public var channelNames: [String] {
        switch self { case .simulator(let s): return s.channels.map(\.name) }
    }

    func validate() -> [ConfigIssue] {
        switch self { case .simulator(let s): return s.validate() }
    }
}

/// `kind: simulator` — simulated sensors with injected faults (see VigilSources/Simulator).
public struct SimulatorSourceConfig: Sendable, Decodable {
    public var name: String
    /// Readings per second per channel.
    public var rate: Double
    public var seed: UInt64
    public var channels: [SimulatedChannel]
    public var faults: [FaultSpec]

    enum CodingKeys: String, CodingKey, CaseIterable { case kind, name, rate, seed, channels, faults }

    public init(name: String = "simulator", rate: Double = 1, seed: UInt64 = 1,
                channels: [SimulatedChannel] = SimulatedChannel.defaults, faults: [FaultSpec] = []) {
        self.name = name; self.rate = rate; self.seed = seed; self.channels = channels; self.faults = faults
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? "simulator"
        rate = try c.decodeIfPresent(Double.self, forKey: .rate) ?? 1
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 1
        channels = try c.decodeIfPresent([SimulatedChannel].self, forKey: .channels) ?? SimulatedChannel.defaults
        faults = try c.decodeIfPresent([FaultSpec].self, forKey: .faults) ?? []
    }

    /// Field checks beyond decoding; the model's own checks run when the source is built.
    func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if name.isEmpty { issues.append(ConfigIssue(["name"], "must not be empty")) }
        return issues
    }
}

extension Decoder {
    /// Fails on keys the type does not know, so a typo (`z_onn: 3`) is an error, not a silent default.
    func rejectUnknownKeys<K: CodingKey & CaseIterable>(_ known: K.Type) throws {
        let c = try container(keyedBy: AnyKey.self)
        let names = Set(K.allCases.map(\.stringValue))
        for key in c.allKeys where !names.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: codingPath + [key],
                debugDescription: "unknown field '\(key.stringValue)' (known: \(K.allCases.map(\.stringValue).sorted().joined(separator: ", ")))"))
        }
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { self.stringValue = "\(intValue)"; self.intValue = intValue }
}
