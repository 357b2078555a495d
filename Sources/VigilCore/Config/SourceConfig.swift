/// A source of readings; `kind` picks which.
public enum SourceConfig: Sendable, Decodable {
    case simulator(SimulatorSourceConfig)
    case serial(SerialSourceConfig)
    case dht(DHTSourceConfig)
    case gpio(DigitalInputsSourceConfig)
    case dhtIIO(DHTIIOSourceConfig)
    case ds18b20(DS18B20SourceConfig)

    public static let kinds = ["simulator", "serial", "dht", "gpio", "dht_iio", "ds18b20"]

    enum KindKey: String, CodingKey { case kind }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: KindKey.self)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "simulator": self = .simulator(try SimulatorSourceConfig(from: decoder))
        case "serial": self = .serial(try SerialSourceConfig(from: decoder))
        case "dht": self = .dht(try DHTSourceConfig(from: decoder))
        case "gpio": self = .gpio(try DigitalInputsSourceConfig(from: decoder))
        case "dht_iio": self = .dhtIIO(try DHTIIOSourceConfig(from: decoder))
        case "ds18b20": self = .ds18b20(try DS18B20SourceConfig(from: decoder))
        default:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c,
                debugDescription: "unknown source kind '\(kind)' (known: \(Self.kinds.joined(separator: ", ")))")
        }
    }

    public var name: String {
        switch self {
        case .simulator(let s): return s.name
        case .serial(let s): return s.name
        case .dht(let s): return s.name
        case .gpio(let s): return s.name
        case .dhtIIO(let s): return s.name
        case .ds18b20(let s): return s.name
        }
    }

    public var channelNames: [String] { channelPaths.map(\.name) }

    /// Each channel with the path of the entry that defines it, relative to the source.
    public var channelPaths: [(name: String, path: [String])] {
        switch self {
        case .simulator(let s): return s.channels.enumerated().map { ($1.name, ["channels", "\($0)", "name"]) }
        case .serial(let s): return s.channelPaths
        case .dht(let s): return s.channelPaths
        case .gpio(let s): return s.channelPaths
        case .dhtIIO(let s): return s.channelPaths
        case .ds18b20(let s): return s.channelPaths
        }
    }

    /// The GPIO lines the source uses (checked against the board preset).
    public var gpioLines: [GPIOLineUse] {
        switch self {
        case .dht(let s): return s.gpioLines
        case .gpio(let s): return s.gpioLines
        default: return []
        }
    }

    func validate() -> [ConfigIssue] {
        switch self {
        case .simulator(let s): return s.validate()
        case .serial(let s): return s.validate()
        case .dht(let s): return s.validate()
        case .gpio(let s): return s.validate()
        case .dhtIIO(let s): return s.validate()
        case .ds18b20(let s): return s.validate()
        }
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
