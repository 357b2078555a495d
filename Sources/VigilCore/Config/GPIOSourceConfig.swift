/// A GPIO line's pull resistor as a request sets it. `as-is` (the default) keeps what the board,
/// the device tree or an external resistor decide; a simulated chip's level also stays untouched.
public enum GPIOBias: String, Sendable, Equatable, CaseIterable, Decodable {
    case asIs = "as-is"
    case disabled
    case pullUp = "pull-up"
    case pullDown = "pull-down"

    public init(from decoder: Decoder) throws { self = try decodeNamed(decoder, what: "bias") }
}

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

/// `kind: gpio` — digital inputs on one gpiochip: a sound sensor's comparator output (KY-038 DO),
/// a door contact, a float switch. Edges come from the kernel with timestamps; every `window` each
/// input delivers its values.
///
/// ```yaml
/// - kind: gpio
///   name: noise
///   window: 1s
///   inputs:
///     - { line: 17, mode: activity, edges: sound_events, duty: sound_duty }
///     - { line: 27, mode: level, channel: door, debounce: 20ms, active_low: true }
/// ```
public struct DigitalInputsSourceConfig: Sendable, Decodable {
    public var name: String
    /// The gpiochip by label, name or path; nil: the board preset's header chip.
    public var chip: String?
    /// How often each input delivers its values.
    public var window: ConfigDuration
    public var inputs: [DigitalInputConfig]

    public static let minWindow = ConfigDuration.milliseconds(100)

    enum CodingKeys: String, CodingKey, CaseIterable { case kind, name, chip, window, inputs }

    public init(name: String = "gpio", chip: String? = nil, window: ConfigDuration = .seconds(1), inputs: [DigitalInputConfig]) {
        self.name = name; self.chip = chip; self.window = window; self.inputs = inputs
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? "gpio"
        chip = try c.decodeIfPresent(String.self, forKey: .chip)
        window = try c.decodeIfPresent(ConfigDuration.self, forKey: .window) ?? .seconds(1)
        inputs = try c.decode([DigitalInputConfig].self, forKey: .inputs)
    }

    /// The channels in delivery order: per input, edges then duty (activity) or the level.
    public var channelPaths: [(name: String, path: [String])] {
        inputs.enumerated().flatMap { (i, input) in input.channelPaths.map { ($0.name, ["inputs", "\(i)"] + $0.path) } }
    }

    public var gpioLines: [GPIOLineUse] {
        inputs.enumerated().map { GPIOLineUse(path: ["inputs", "\($0)", "line"], chip: chip, line: $1.line) }
    }

    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if name.isEmpty { issues.append(ConfigIssue(["name"], "must not be empty")) }
        if chip?.isEmpty == true { issues.append(ConfigIssue(["chip"], "must not be empty; leave it out to use the board's header chip")) }
        if window < Self.minWindow { issues.append(ConfigIssue(["window"], "must be at least 100ms, got \(window)")) }
        if inputs.isEmpty { issues.append(ConfigIssue(["inputs"], "must list at least one input")) }
        var lines: [Int: Int] = [:]
        for (i, input) in inputs.enumerated() {
            if let j = lines[input.line] {
                issues.append(ConfigIssue(["inputs", "\(i)", "line"], "line \(input.line) is already inputs[\(j)]"))
            } else {
                lines[input.line] = i
            }
            issues += input.validate(window: window).map { ConfigIssue(["inputs", "\(i)"] + $0.path, $0.message) }
        }
        return issues
    }
}

/// One digital input.
public struct DigitalInputConfig: Sendable, Decodable {
    public enum Mode: String, Sendable, Equatable, CaseIterable, Decodable {
        /// Counts active-going edges and the time spent active in each window: a sound sensor's
        /// comparator output chatters while it is loud, so more edges and more duty mean louder.
        case activity
        /// The input's state at the end of each window, 1 active or 0: a contact, a float switch.
        case level

        public init(from decoder: Decoder) throws { self = try decodeNamed(decoder, what: "input mode") }
    }

    public var line: Int
    public var mode: Mode
    /// activity: the channel of active-going edges per window.
    public var edgesChannel: String?
    /// activity: the channel of the fraction of the window the input was active (0…1).
    public var dutyChannel: String?
    /// level: the channel of the state.
    public var levelChannel: String?
    /// A change must last this long to count (contact bounce); 0 counts every edge.
    public var debounce: ConfigDuration
    /// Active means low (a contact to ground with a pull-up).
    public var activeLow: Bool
    public var bias: GPIOBias

    enum CodingKeys: String, CodingKey, CaseIterable {
        case line, mode, edges, duty, channel, debounce, bias
        case activeLow = "active_low"
    }

    public init(line: Int, mode: Mode, edgesChannel: String? = nil, dutyChannel: String? = nil, levelChannel: String? = nil,
                debounce: ConfigDuration = .milliseconds(0), activeLow: Bool = false, bias: GPIOBias = .asIs) {
        self.line = line; self.mode = mode; self.edgesChannel = edgesChannel; self.dutyChannel = dutyChannel
        self.levelChannel = levelChannel; self.debounce = debounce; self.activeLow = activeLow; self.bias = bias
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        line = try c.decode(Int.self, forKey: .line)
        mode = try c.decode(Mode.self, forKey: .mode)
        edgesChannel = try c.decodeIfPresent(String.self, forKey: .edges)
        dutyChannel = try c.decodeIfPresent(String.self, forKey: .duty)
        levelChannel = try c.decodeIfPresent(String.self, forKey: .channel)
        debounce = try c.decodeIfPresent(ConfigDuration.self, forKey: .debounce) ?? .milliseconds(0)
        activeLow = try c.decodeIfPresent(Bool.self, forKey: .activeLow) ?? false
        bias = try c.decodeIfPresent(GPIOBias.self, forKey: .bias) ?? .asIs
    }

    public var channelPaths: [(name: String, path: [String])] {
        var out: [(name: String, path: [String])] = []
        if let e = edgesChannel { out.append((e, ["edges"])) }
        if let d = dutyChannel { out.append((d, ["duty"])) }
        if let l = levelChannel { out.append((l, ["channel"])) }
        return out
    }

    func validate(window: ConfigDuration) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        issues += GPIOLineUse.problems(line: line).map { ConfigIssue(["line"], $0) }
        switch mode {
        case .activity:
            if edgesChannel == nil && dutyChannel == nil {
                issues.append(ConfigIssue(["mode"], "an activity input needs a channel: set edges, duty or both"))
            }
            if levelChannel != nil { issues.append(ConfigIssue(["channel"], "an activity input has edges and duty channels, not channel")) }
        case .level:
            if levelChannel == nil { issues.append(ConfigIssue(["mode"], "a level input needs its channel: set channel")) }
            if edgesChannel != nil { issues.append(ConfigIssue(["edges"], "only activity inputs count edges")) }
            if dutyChannel != nil { issues.append(ConfigIssue(["duty"], "only activity inputs measure duty")) }
        }
        if debounce.nanoseconds < 0 { issues.append(ConfigIssue(["debounce"], "must not be negative, got \(debounce)")) }
        if debounce >= window { issues.append(ConfigIssue(["debounce"], "must be shorter than the window (\(window)), got \(debounce)")) }
        return issues
    }
}

/// A GPIO line a source uses, for checks against the board preset.
public struct GPIOLineUse: Sendable, Equatable {
    /// Relative to the source entry.
    public var path: [String]
    public var chip: String?
    public var line: Int

    /// The largest line offset: the kernel counts a chip's lines in 16 bits (and libgpiod's
    /// offsets, 32 bits, would trap on a larger config value when the line is opened).
    public static let maxOffset = 65535

    /// What is wrong with `line` as an offset; empty when nothing.
    static func problems(line: Int) -> [String] {
        if line < 0 { return ["must be a line offset (0 or more), got \(line)"] }
        if line > maxOffset { return ["must be at most \(maxOffset) (the largest GPIO line offset), got \(line)"] }
        return []
    }
}
