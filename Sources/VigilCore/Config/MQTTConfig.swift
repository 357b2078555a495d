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
