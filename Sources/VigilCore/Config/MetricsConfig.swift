/// `metrics:` — the agent's counters for Prometheus, as a node_exporter textfile. Off unless
/// `textfile` is set.
public struct MetricsConfig: Sendable, Decodable, Equatable {
    /// Where to write (replaced atomically): a `.prom` file in node_exporter's textfile directory.
    public var textfile: String? = nil
    /// How often it is rewritten.
    public var interval: ConfigDuration = .seconds(15)

    enum CodingKeys: String, CodingKey, CaseIterable { case textfile, interval }

    public init(textfile: String? = nil, interval: ConfigDuration = .seconds(15)) {
        self.textfile = textfile
        self.interval = interval
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        textfile = try c.decodeIfPresent(String.self, forKey: .textfile)
        interval = try c.decodeIfPresent(ConfigDuration.self, forKey: .interval) ?? .seconds(15)
    }

    func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if let t = textfile {
            // node_exporter's textfile collector reads only *.prom files.
            if !t.hasPrefix("/") || !t.hasSuffix(".prom") || t.hasSuffix("/.prom") {
                issues.append(ConfigIssue(["textfile"], "must be an absolute path of a file ending in .prom (node_exporter reads only those), got '\(t)'"))
            }
        }
        if interval.nanoseconds < 1_000_000_000 {
            issues.append(ConfigIssue(["interval"], "must be at least 1s, got \(interval)"))
        }
        return issues
    }
}
