/// The retained config messages of Home Assistant's MQTT discovery for one gateway: one HA device
/// (the gateway) holding, per channel, a `sensor` (the latest summary's mean), a `binary_sensor`
/// "anomaly" (on from episode start to end) and a `binary_sensor` per enabled health check; per
/// multivariate detector an "anomaly" `binary_sensor`. Every entity is available while the agent's
/// retained status says `online`. Pure: the agent publishes what this returns on every connect.
public struct HomeAssistantDiscovery: Sendable {
    /// What is known of one channel: its name and unit, and its health checks.
    public struct Channel: Sendable {
        public var info: ChannelInfo
        public var health: HealthSettings
        public init(_ info: ChannelInfo, health: HealthSettings) { self.info = info; self.health = health }
    }

    public var device: String
    public var topicPrefix: String
    public var settings: HomeAssistantConfig
    /// The device's model in HA: the board preset's name, else a generic one.
    public var model: String

    public init(device: String, topicPrefix: String, settings: HomeAssistantConfig, model: String?) {
        self.device = device
        self.topicPrefix = topicPrefix
        self.settings = settings
        self.model = model ?? "Linux gateway"
    }

    /// Every config message, in a stable order: per channel its sensor, anomaly and checks, then the
    /// multivariate detectors.
    public func messages(channels: [Channel], multivariate: [String]) -> [OutboundMessage] {
        var out: [OutboundMessage] = []
        for c in channels {
            out.append(sensor(c.info))
            out.append(binarySensor(id: "\(c.info.name)_anomaly", name: "\(c.info.name) anomaly", topic: "anomaly/\(c.info.name)",
                                    template: Self.anomalyTemplate, diagnostic: false))
            for check in Self.checks(c.health) {
                out.append(binarySensor(id: "\(c.info.name)_\(check)", name: "\(c.info.name) \(check.replacingUnderscores)",
                                        topic: "health/\(c.info.name)", template: Self.checkTemplate(check), diagnostic: true))
            }
        }
        for source in multivariate {
            out.append(binarySensor(id: "\(source)_anomaly", name: "\(source) anomaly", topic: "anomaly/\(source)",
                                    template: Self.anomalyTemplate, diagnostic: false))
        }
        return out
    }

    /// The retained empty message that removes the entity whose config lives on `topic`.
    public static func removal(ofTopic topic: String) -> OutboundMessage {
        OutboundMessage(topic: topic, payload: [], qos: 1, retain: true)
    }

    /// The health checks a channel runs, by their names in health events.
    static func checks(_ h: HealthSettings) -> [String] {
        var out: [String] = []
        if h.stuckAfter != nil { out.append("stuck") }
        if h.dropoutAfter != nil { out.append("dropout") }
        if h.min != nil || h.max != nil { out.append("out_of_range") }
        if h.maxRate != nil { out.append("rate_of_change") }
        return out
    }

    static let anomalyTemplate = "{{ 'ON' if value_json.event == 'start' else 'OFF' }}"
    /// Renders nothing for the other checks' events on the shared topic: HA ignores a payload that is
    /// neither `payload_on` nor `payload_off`, so the entity keeps its state.
    static func checkTemplate(_ check: String) -> String {
        "{% if value_json.check == '\(check)' %}{{ 'ON' if value_json.event == 'start' else 'OFF' }}{% endif %}"
    }

    /// Home Assistant's device class and unit for a Vigil unit; HA checks the unit against the class
    /// (humidity is `%`, not `%RH`; `dBFS` is no sound pressure).
    static func deviceClass(unit: String) -> (deviceClass: String?, unit: String) {
        switch unit {
        case "°C", "°F", "K": return ("temperature", unit)
        case "%RH": return ("humidity", "%")
        case "dB", "dBA": return ("sound_pressure", unit)
        case "hPa", "Pa", "kPa", "mbar", "bar": return ("pressure", unit)
        case "V", "mV": return ("voltage", unit)
        default: return (nil, unit)
        }
    }

    // MARK: - Payloads

    /// `<discovery_prefix>/<component>/<node_id>/<object_id>/config`. HA allows only
    /// `[a-zA-Z0-9_-]` in node and object ids; a device or channel id may also hold `.`.
    func configTopic(component: String, objectID: String) -> String {
        "\(settings.discoveryPrefix)/\(component)/\(Self.haID(device))/\(Self.haID(objectID))/config"
    }

    static func haID(_ s: String) -> String { s.replacingDots }

    private func sensor(_ c: ChannelInfo) -> OutboundMessage {
        let (deviceClass, unit) = Self.deviceClass(unit: c.unit)
        var fields: [(String, DiscoveryJSON)] = [
            ("name", .string(c.name)),
            ("unique_id", .string("vigil_\(device)_\(c.name)")),
            ("state_topic", .string("\(topicPrefix)/\(device)/summary/\(c.name)")),
            ("value_template", .string("{{ value_json.mean }}")),
        ]
        if !unit.isEmpty { fields.append(("unit_of_measurement", .string(unit))) }
        if let deviceClass { fields.append(("device_class", .string(deviceClass))) }
        fields.append(("state_class", .string("measurement")))
        return message(component: "sensor", objectID: c.name, fields: fields + common)
    }

    private func binarySensor(id: String, name: String, topic: String, template: String, diagnostic: Bool) -> OutboundMessage {
        var fields: [(String, DiscoveryJSON)] = [
            ("name", .string(name)),
            ("unique_id", .string("vigil_\(device)_\(id)")),
            ("state_topic", .string("\(topicPrefix)/\(device)/\(topic)")),
            ("value_template", .string(template)),
            ("payload_on", .string("ON")),
            ("payload_off", .string("OFF")),
            ("device_class", .string("problem")),
        ]
        if diagnostic { fields.append(("entity_category", .string("diagnostic"))) }
        return message(component: "binary_sensor", objectID: id, fields: fields + common)
    }

    /// Availability, QoS, device and origin: the same in every entity.
    private var common: [(String, DiscoveryJSON)] {
        [
            ("availability", .array([.object([
                ("topic", .string("\(topicPrefix)/\(device)/status")),
                ("value_template", .string("{{ value_json.state }}")),
                ("payload_available", .string("online")),
                ("payload_not_available", .string("offline")),
            ])])),
            ("qos", .int(1)),
            ("device", .object([
                ("identifiers", .array([.string("vigil_\(device)")])),
                ("name", .string(settings.name ?? device)),
                ("manufacturer", .string("Vigil")),
                ("model", .string(model)),
                ("sw_version", .string(VigilVersion.current)),
            ])),
            ("origin", .object([
                ("name", .string("Vigil")),
                ("sw_version", .string(VigilVersion.current)),
            ])),
        ]
    }

    private func message(component: String, objectID: String, fields: [(String, DiscoveryJSON)]) -> OutboundMessage {
        var bytes: [UInt8] = []
        DiscoveryJSON.object(fields).write(to: &bytes)
        return OutboundMessage(topic: configTopic(component: component, objectID: objectID), payload: bytes, qos: 1, retain: true)
    }
}

/// The nested JSON of a discovery message (the event encoder's `JSONWriter` writes flat objects only).
enum DiscoveryJSON {
    case string(String)
    case int(Int)
    case array([DiscoveryJSON])
    case object([(String, DiscoveryJSON)])

    func write(to out: inout [UInt8]) {
        switch self {
        case .string(let s): JSONWriter.appendQuoted(s, to: &out)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.appendQuoted(key, to: &out)
                out.append(UInt8(ascii: ":"))
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}

extension String {
    fileprivate var replacingDots: String { String(unicodeScalars.map { $0 == "." ? "_" : Character($0) }) }
    fileprivate var replacingUnderscores: String { String(unicodeScalars.map { $0 == "_" ? " " : Character($0) }) }
}
