import VigilCore

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


extension DigitalInputsSourceConfig: SourceKind {
    public static let kind = "gpio"
    public static var probe: (any DeviceProbe)? { GPIOChipsProbe() }
    public func makeSource(_ context: SourceContext) throws(SourceConfigError) -> Source {
        try DigitalInputSource(config: self, chip: context.chip(chip), board: context.board, log: context.log)
    }
}
