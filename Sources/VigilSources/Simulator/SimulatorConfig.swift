import VigilCore

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

    public var channelPaths: [(name: String, path: [String])] {
        channels.enumerated().map { ($1.name, ["channels", "\($0)", "name"]) }
    }

    /// Field checks beyond decoding; the model's own checks run when the source is built.
    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if name.isEmpty { issues.append(ConfigIssue(["name"], "must not be empty")) }
        return issues
    }
}

extension SimulatorSourceConfig: SourceKind {
    public static let kind = "simulator"
    public func makeSource(_ context: SourceContext) throws(SourceConfigError) -> Source {
        do { return try SimulatorSource(config: self, log: context.log) } catch {
            throw SourceConfigError(issues: [ConfigIssue(error.path, error.message)])
        }
    }
}

/// One simulated sensor channel. The model (see VigilSources/Simulator):
/// reading = mean + walk + noise, where `walk` follows a random walk over the last `walkPoints`
/// steps and is pulled back toward `mean` by `recalibration` each step, and `noise` is white.
/// `walkShare` of the variance comes from the walk, the rest from the noise; together they give
/// the configured `std`.
public struct SimulatedChannel: Sendable, Hashable, Codable {
    public var name: String
    public var unit: String
    public var mean: Double
    public var std: Double
    /// How many past steps the random walk sums over (its memory).
    public var walkPoints: Int
    /// Fraction of the current deviation from `mean` removed each step (0…1).
    public var recalibration: Double
    /// Share of the variance carried by the walk (0…1); the rest is white noise.
    public var walkShare: Double
    /// Readings are rounded to this step (the sensor's resolution); 0 means no rounding.
    public var resolution: Double

    public init(name: String, unit: String, mean: Double, std: Double, walkPoints: Int = 30,
                recalibration: Double = 0.05, walkShare: Double = 0.5, resolution: Double = 0) {
        self.name = name; self.unit = unit; self.mean = mean; self.std = std
        self.walkPoints = walkPoints; self.recalibration = recalibration
        self.walkShare = walkShare; self.resolution = resolution
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, unit, mean, std, resolution, recalibration
        case walkPoints = "walk_points", walkShare = "walk_share"
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        unit = try c.decodeIfPresent(String.self, forKey: .unit) ?? ""
        mean = try c.decode(Double.self, forKey: .mean)
        std = try c.decode(Double.self, forKey: .std)
        walkPoints = try c.decodeIfPresent(Int.self, forKey: .walkPoints) ?? 30
        recalibration = try c.decodeIfPresent(Double.self, forKey: .recalibration) ?? 0.05
        walkShare = try c.decodeIfPresent(Double.self, forKey: .walkShare) ?? 0.5
        resolution = try c.decodeIfPresent(Double.self, forKey: .resolution) ?? 0
    }

    /// The three channels a simulator has when none are configured.
    public static let defaults: [SimulatedChannel] = [
        SimulatedChannel(name: "temperature", unit: "°C", mean: 22.0, std: 0.3, resolution: 0.01),
        SimulatedChannel(name: "humidity", unit: "%RH", mean: 45.0, std: 1.0, resolution: 0.1),
        SimulatedChannel(name: "sound", unit: "dB", mean: 55.0, std: 2.0, resolution: 0.1),
    ]
}

public enum FaultKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// One reading offset by `magnitude` (in units of the channel's std).
    case spike
    /// Readings offset by `magnitude`·std for `duration`.
    case levelShift = "level_shift"
    /// Offset grows linearly from 0 to `magnitude`·std over `duration`.
    case drift
    /// The value freezes at the last reading before the fault for `duration`.
    case stuck
    /// No readings at all for `duration`.
    case dropout
    /// Noise multiplied by `magnitude` for `duration`.
    case noiseBurst = "noise_burst"
}

/// A fault to inject: at a fixed time after start (`at`), or at random with `ratePerHour`.
public struct FaultSpec: Sendable, Hashable, Codable {
    public var kind: FaultKind
    /// Channel name.
    public var channel: String
    /// Offset from the simulator's start; nil for rate-driven faults.
    public var at: ConfigDuration?
    /// Expected number of such faults per hour (Poisson), used when `at` is nil.
    public var ratePerHour: Double?
    public var duration: ConfigDuration
    public var magnitude: Double

    public init(kind: FaultKind, channel: String, at: ConfigDuration? = nil, ratePerHour: Double? = nil,
                duration: ConfigDuration = .seconds(0), magnitude: Double = 0) {
        self.kind = kind; self.channel = channel; self.at = at; self.ratePerHour = ratePerHour
        self.duration = duration; self.magnitude = magnitude
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, channel, at, duration, magnitude
        case ratePerHour = "rate_per_hour"
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(FaultKind.self, forKey: .kind)
        channel = try c.decode(String.self, forKey: .channel)
        at = try c.decodeIfPresent(ConfigDuration.self, forKey: .at)
        ratePerHour = try c.decodeIfPresent(Double.self, forKey: .ratePerHour)
        duration = try c.decodeIfPresent(ConfigDuration.self, forKey: .duration) ?? .seconds(0)
        magnitude = try c.decodeIfPresent(Double.self, forKey: .magnitude) ?? 0
    }
}

/// A fault that the simulator actually injected: the ground truth a detector is judged against.
public struct InjectedFault: Sendable, Hashable, Codable {
    public var kind: FaultKind
    public var channel: String
    /// First and last tick the fault affects (inclusive), and the same as offsets from start.
    public var firstTick: Int
    public var lastTick: Int
    public var startNanos: Int64
    public var endNanos: Int64
    public var magnitude: Double

    public init(kind: FaultKind, channel: String, firstTick: Int, lastTick: Int,
                startNanos: Int64, endNanos: Int64, magnitude: Double) {
        self.kind = kind; self.channel = channel; self.firstTick = firstTick; self.lastTick = lastTick
        self.startNanos = startNanos; self.endNanos = endNanos; self.magnitude = magnitude
    }
}
