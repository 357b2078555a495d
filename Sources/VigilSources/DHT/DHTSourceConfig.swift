import VigilCore

/// Which DHT sensor: they share the one-wire protocol but not the data format or start pulse.
public enum DHTSensorModel: String, Sendable, Equatable, CaseIterable, Decodable {
    case dht11, dht22, am2302

    public init(from decoder: Decoder) throws { self = try decodeNamed(decoder, what: "DHT model") }
}

/// `kind: dht` — a DHT11/DHT22/AM2302 on one GPIO line, read through libgpiod: a start pulse,
/// then the sensor's 40-bit answer captured as kernel-timestamped edges.
///
/// ```yaml
/// - kind: dht
///   name: climate
///   model: dht22
///   line: 4                  # GPIO4, header pin 7 (chip: the board's header chip)
///   interval: 10s
/// ```
public struct DHTSourceConfig: Sendable, Decodable {
    public var name: String
    public var model: DHTSensorModel
    /// The gpiochip by label, name or path; nil: the board preset's header chip.
    public var chip: String?
    /// The line offset on that chip (the BCM GPIO number on a Pi).
    public var line: Int
    /// Time between reads; the sensor needs at least 2 s between them.
    public var interval: ConfigDuration
    /// Extra attempts after a failed read, each 2 s after the one before.
    public var retries: Int
    public var bias: GPIOBias
    public var temperatureChannel: String
    public var humidityChannel: String

    /// DHT sensors give stale or no data when read more often than this.
    public static let minInterval = ConfigDuration.seconds(2)
    public static let maxRetries = 5

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, name, model, chip, line, interval, retries, bias, channels
    }

    struct Channels: Decodable {
        var temperature: String?
        var humidity: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case temperature, humidity }
        init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            temperature = try c.decodeIfPresent(String.self, forKey: .temperature)
            humidity = try c.decodeIfPresent(String.self, forKey: .humidity)
        }
    }

    public init(name: String = "dht", model: DHTSensorModel = .dht22, chip: String? = nil, line: Int,
                interval: ConfigDuration = .seconds(10), retries: Int = 2, bias: GPIOBias = .asIs,
                temperatureChannel: String = "temperature", humidityChannel: String = "humidity") {
        self.name = name; self.model = model; self.chip = chip; self.line = line
        self.interval = interval; self.retries = retries; self.bias = bias
        self.temperatureChannel = temperatureChannel; self.humidityChannel = humidityChannel
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DHTSourceConfig(line: 0)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? d.name
        model = try c.decode(DHTSensorModel.self, forKey: .model)
        chip = try c.decodeIfPresent(String.self, forKey: .chip)
        line = try c.decode(Int.self, forKey: .line)
        interval = try c.decodeIfPresent(ConfigDuration.self, forKey: .interval) ?? d.interval
        retries = try c.decodeIfPresent(Int.self, forKey: .retries) ?? d.retries
        bias = try c.decodeIfPresent(GPIOBias.self, forKey: .bias) ?? d.bias
        let channels = try c.decodeIfPresent(Channels.self, forKey: .channels)
        temperatureChannel = channels?.temperature ?? d.temperatureChannel
        humidityChannel = channels?.humidity ?? d.humidityChannel
    }

    public var channelPaths: [(name: String, path: [String])] {
        [(temperatureChannel, ["channels", "temperature"]), (humidityChannel, ["channels", "humidity"])]
    }

    public var gpioLines: [GPIOLineUse] { [GPIOLineUse(path: ["line"], chip: chip, line: line)] }

    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if name.isEmpty { issues.append(ConfigIssue(["name"], "must not be empty")) }
        if chip?.isEmpty == true { issues.append(ConfigIssue(["chip"], "must not be empty; leave it out to use the board's header chip")) }
        issues += GPIOLineUse.problems(line: line).map { ConfigIssue(["line"], $0) }
        if interval < Self.minInterval {
            issues.append(ConfigIssue(["interval"], "must be at least 2s: DHT sensors give stale or no data when read faster, got \(interval)"))
        }
        if !(0...Self.maxRetries).contains(retries) {
            issues.append(ConfigIssue(["retries"], "must be between 0 and \(Self.maxRetries), got \(retries)"))
        }
        if temperatureChannel == humidityChannel {
            issues.append(ConfigIssue(["channels", "humidity"], "'\(humidityChannel)' is also the temperature channel"))
        }
        return issues
    }
}


extension DHTSourceConfig: SourceKind {
    public static let kind = "dht"
    public static var probe: (any DeviceProbe)? { GPIOChipsProbe() }
    public func makeSource(_ context: SourceContext) throws(SourceConfigError) -> Source {
        try DHTSource(config: self, chip: context.chip(chip), board: context.board, log: context.log)
    }
}
