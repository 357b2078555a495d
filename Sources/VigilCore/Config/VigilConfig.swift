/// The whole agent configuration: one file, read once at start.
public struct VigilConfig: Sendable, Decodable {
    /// Identifies this gateway in topics and payloads: letters, digits, `.`, `_`, `-`.
    public var device: String
    public var mqtt: MQTTConfig
    /// Detector settings for every channel …
    public var detector: DetectorConfig
    /// … and per-channel overrides, by channel name.
    public var channels: [String: DetectorConfig]
    /// Multivariate (Hotelling T²) detectors, by source name: one over all that source's channels.
    public var multivariate: [String: DetectorConfig]
    public var summary: SummaryConfig
    public var logLevel: LogLevel
    public var sources: [SourceConfig]
    /// The board preset GPIO lines are checked against and whose header chip is the default:
    /// a preset name (`rpi-4b`), `auto` (the default: this machine's, when it is a known Raspberry
    /// Pi) or `none` (no checks; every GPIO source names its chip).
    public var board: String?
    /// Home Assistant MQTT discovery; nil (the default) announces nothing.
    public var homeAssistant: HomeAssistantConfig?
    /// The Prometheus textfile; off unless `metrics.textfile` is set.
    public var metrics: MetricsConfig

    public enum LogLevel: String, Sendable, Codable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case device, mqtt, detector, channels, summary, sources, multivariate, board, metrics
        case logLevel = "log_level", homeAssistant = "home_assistant"
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        device = try c.decode(String.self, forKey: .device)
        mqtt = try c.decodeIfPresent(MQTTConfig.self, forKey: .mqtt) ?? MQTTConfig()
        detector = try c.decodeIfPresent(DetectorConfig.self, forKey: .detector) ?? DetectorConfig()
        channels = try c.decodeIfPresent([String: DetectorConfig].self, forKey: .channels) ?? [:]
        multivariate = try c.decodeIfPresent([String: DetectorConfig].self, forKey: .multivariate) ?? [:]
        summary = try c.decodeIfPresent(SummaryConfig.self, forKey: .summary) ?? SummaryConfig()
        logLevel = try c.decodeIfPresent(LogLevel.self, forKey: .logLevel) ?? .info
        sources = try c.decode([SourceConfig].self, forKey: .sources)
        board = try c.decodeIfPresent(String.self, forKey: .board)
        homeAssistant = try c.decodeIfPresent(HomeAssistantConfig.self, forKey: .homeAssistant)
        metrics = try c.decodeIfPresent(MetricsConfig.self, forKey: .metrics) ?? MetricsConfig()
    }

    /// The preset `board` names; nil for `auto`, `none` and unset.
    public var namedBoard: Board? {
        guard let b = board, b != "auto", b != "none" else { return nil }
        return Boards.named(b)
    }

    /// Whether the board is found on the machine at start (`auto` or unset).
    public var detectsBoard: Bool { board == nil || board == "auto" }

    /// GPIO lines the board does not have or reserves (UART, I²C, …) or that a bus another source
    /// uses takes (an ADS1115's I2C1, an I²S microphone's PCM pins), for sources on its header
    /// chip (no `chip`, or `chip` set to the header chip's label), and sources on one of the board's
    /// chips that are not wired to the header. Chips named by path or number are checked when the
    /// source opens them and learns their label; other labels (an I²C GPIO expander) are not the
    /// preset's business.
    public func gpioIssues(on board: Board) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        var headerLines: [(source: Int, path: [String], line: Int)] = []
        for (i, source) in sources.enumerated() {
            let uses = source.gpioLines
            guard let first = uses.first else { continue }
            if let chip = first.chip, chip != board.headerChip.label {
                if board.otherChips.contains(where: { $0.label == chip }), let p = board.problem(line: first.line, chip: chip) {
                    issues.append(ConfigIssue(["sources", "\(i)", "chip"], p))
                }
                continue
            }
            for use in uses {
                if let p = board.problem(line: use.line) {
                    issues.append(ConfigIssue(["sources", "\(i)"] + use.path, p))
                } else {
                    headerLines.append((i, use.path, use.line))
                }
            }
        }
        return issues + busConflicts(on: board, lines: headerLines)
    }

    /// The effective detector settings of a channel: defaults, then its override.
    public func detectorSettings(forChannel name: String) -> DetectorSettings {
        var s = detector.applied(to: DetectorSettings.defaults)
        if let o = channels[name] { s = o.applied(to: s) }
        return s
    }

    /// The settings of the multivariate detector over a source's channels; nil when it has none.
    public func multivariateSettings(forSource name: String) -> DetectorSettings? {
        multivariate[name].map { $0.applied(to: DetectorSettings.multivariateDefaults) }
    }

    /// Every channel name with the path of the config entry that defines it.
    public var channelNames: [(name: String, path: [String])] {
        sources.enumerated().flatMap { (i, source) in
            source.channelPaths.map { ($0.name, ["sources", "\(i)"] + $0.path) }
        }
    }

    /// Semantic checks after decoding; each issue names its field.
    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if !Self.isTopicSafe(device) {
            issues.append(ConfigIssue(["device"], "must be non-empty and use only letters, digits, '.', '_' or '-', got '\(device)'"))
        }
        issues += mqtt.validate().map { ConfigIssue(["mqtt"] + $0.path, $0.message) }
        issues += (homeAssistant?.validate() ?? []).map { ConfigIssue(["home_assistant"] + $0.path, $0.message) }
        issues += metrics.validate().map { ConfigIssue(["metrics"] + $0.path, $0.message) }
        let defaultProblems = detector.applied(to: DetectorSettings.defaults).problems()
        for (field, message) in defaultProblems {
            issues.append(ConfigIssue(["detector"] + DetectorConfig.path(of: field), message))
        }
        if summary.interval.nanoseconds < 1_000_000_000 {
            issues.append(ConfigIssue(["summary", "interval"], "must be at least 1s, got \(summary.interval)"))
        }
        if sources.isEmpty { issues.append(ConfigIssue(["sources"], "must list at least one source")) }
        if let b = board, b != "auto", b != "none" {
            if let preset = Boards.named(b) {
                issues += gpioIssues(on: preset)
            } else {
                issues.append(ConfigIssue(["board"], "no preset called '\(b)' (presets: \(Boards.names); or auto, none)"))
            }
        }
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
        for (name, m) in multivariate.sorted(by: { $0.key < $1.key }) {
            let path = ["multivariate", name]
            guard let source = sources.first(where: { $0.name == name }) else {
                issues.append(ConfigIssue(path, "no source named '\(name)' (sources: \(sources.map(\.name).joined(separator: ", ")))"))
                continue
            }
            if source.channelNames.count < 2 {
                issues.append(ConfigIssue(path, "source '\(name)' has fewer than two channels: nothing to combine"))
            }
            if seenChannels.contains(name) {
                issues.append(ConfigIssue(path, "'\(name)' is also a channel name; both would publish on anomaly/\(name)"))
            }
            if m.kind != nil { issues.append(ConfigIssue(path + ["kind"], "the multivariate detector has no kind (it is always T²)")) }
            if m.health != nil { issues.append(ConfigIssue(path + ["health"], "health checks are per channel: set them under channels or detector")) }
            if m.alpha != nil { issues.append(ConfigIssue(path + ["alpha"], "the multivariate detector uses a window, not alpha")) }
            if m.spikes != nil { issues.append(ConfigIssue(path + ["spikes"], "the multivariate detector has one scale")) }
            if m.falseAlarmsPerDay != nil {
                issues.append(ConfigIssue(path + ["false_alarms_per_day"], "the multivariate detector takes z_on and z_off"))
            }
            for (field, message) in m.applied(to: DetectorSettings.multivariateDefaults).problems() {
                issues.append(ConfigIssue(path + DetectorConfig.path(of: field), message))
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
