/// `home_assistant:` — announce the gateway to Home Assistant through its MQTT discovery. Off unless
/// the section is present (`home_assistant: {}` turns it on with the defaults).
public struct HomeAssistantConfig: Sendable, Decodable, Equatable {
    /// The first topic level Home Assistant listens on for discovery (its own default).
    public var discoveryPrefix: String = "homeassistant"
    /// The device's name in Home Assistant; nil: the `device` id.
    public var name: String? = nil

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name
        case discoveryPrefix = "discovery_prefix"
    }

    public init(discoveryPrefix: String = "homeassistant", name: String? = nil) {
        self.discoveryPrefix = discoveryPrefix
        self.name = name
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        discoveryPrefix = try c.decodeIfPresent(String.self, forKey: .discoveryPrefix) ?? "homeassistant"
        name = try c.decodeIfPresent(String.self, forKey: .name)
    }

    func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        let p = discoveryPrefix
        if p.isEmpty || p.contains("+") || p.contains("#") || p.hasPrefix("/") || p.hasSuffix("/") {
            issues.append(ConfigIssue(["discovery_prefix"], "must be non-empty, without '+', '#' or a leading/trailing '/', got '\(p)'"))
        }
        if let n = name, n.isEmpty || n.utf8.count > 128 {
            issues.append(ConfigIssue(["name"], "must be 1 to 128 bytes"))
        }
        return issues
    }
}
