import VigilCore

/// `kind: microphone` — sound level from an ALSA capture device (a USB sound card, an I²S MEMS
/// microphone), per window.
///
/// ```yaml
/// - kind: microphone
///   name: mic
///   device: plughw:CARD=Device,DEV=0   # by card name: stable across reboots
///   rate: 16000
///   channels: 1
///   period: 100ms
///   window: 1s
///   weighting: A              # A or Z (none)
///   calibration_db: 0         # added to level_db: dBFS → dB SPL once measured
///   bands: [125, 500, 2000]   # octave band levels (dBFS): band_db_125, band_db_500, band_db_2000
///   names: { level: level_db, peak: peak_db, band: band_db }
/// ```
public struct MicrophoneSourceConfig: Sendable, Decodable {
    public var name: String
    /// The ALSA PCM name.
    public var device: String
    /// Frames per second.
    public var rate: Int
    /// Channels captured (interleaved); the level is their power mean.
    public var channels: Int
    /// Audio read per call: the CPU wakes once per period.
    public var period: ConfigDuration
    /// Audio per reading.
    public var window: ConfigDuration
    public var weighting: FrequencyWeighting
    /// Added to `level_db`.
    public var calibrationDB: Double
    /// Octave band centres (from `OctaveBand.centres`) whose levels each window also gives.
    public var bands: [Double]
    public var names: MicrophoneChannelNames

    public static let defaultName = "microphone"
    public static let rates = 8000...192_000
    public static let maxChannels = 8

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, name, device, rate, channels, period, window, weighting, bands, names
        case calibrationDB = "calibration_db"
    }

    public init(name: String = MicrophoneSourceConfig.defaultName, device: String = "default", rate: Int = 16000,
                channels: Int = 1, period: ConfigDuration = .milliseconds(100), window: ConfigDuration = .seconds(1),
                weighting: FrequencyWeighting = .a, calibrationDB: Double = 0, bands: [Double] = [],
                names: MicrophoneChannelNames = MicrophoneChannelNames()) {
        self.name = name; self.device = device; self.rate = rate; self.channels = channels; self.period = period
        self.window = window; self.weighting = weighting; self.calibrationDB = calibrationDB; self.bands = bands; self.names = names
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = MicrophoneSourceConfig()
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? d.name
        device = try c.decodeIfPresent(String.self, forKey: .device) ?? d.device
        rate = try c.decodeIfPresent(Int.self, forKey: .rate) ?? d.rate
        channels = try c.decodeIfPresent(Int.self, forKey: .channels) ?? d.channels
        period = try c.decodeIfPresent(ConfigDuration.self, forKey: .period) ?? d.period
        window = try c.decodeIfPresent(ConfigDuration.self, forKey: .window) ?? d.window
        calibrationDB = try c.decodeIfPresent(Double.self, forKey: .calibrationDB) ?? d.calibrationDB
        bands = try c.decodeIfPresent([Double].self, forKey: .bands) ?? d.bands
        names = try c.decodeIfPresent(MicrophoneChannelNames.self, forKey: .names) ?? d.names
        if let text = try c.decodeIfPresent(String.self, forKey: .weighting) {
            guard let w = FrequencyWeighting(rawValue: text.uppercased()) else {
                throw DecodingError.dataCorruptedError(forKey: .weighting, in: c,
                                                       debugDescription: "must be A or Z (none), got '\(text)'")
            }
            weighting = w
        } else {
            weighting = d.weighting
        }
    }

    /// Frames per period and per window at `rate`.
    public var periodFrames: Int { Int(period.nanoseconds * Int64(rate) / 1_000_000_000) }
    public var windowFrames: Int { Int(window.nanoseconds * Int64(rate) / 1_000_000_000) }

    public var channelPaths: [(name: String, path: [String])] {
        [(names.level, ["names", "level"]), (names.peak, ["names", "peak"])]
            + bands.enumerated().map { (bandChannel($0.element), ["bands", String($0.offset)]) }
    }

    /// `band_db_1000`
    public func bandChannel(_ centreHz: Double) -> String { "\(names.band)_\(OctaveBand.label(centreHz))" }

    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if name.isEmpty { issues.append(ConfigIssue(["name"], "must not be empty")) }
        if device.isEmpty { issues.append(ConfigIssue(["device"], "must name an ALSA capture device, such as plughw:CARD=Device,DEV=0 (arecord -L lists them)")) }
        if !Self.rates.contains(rate) { issues.append(ConfigIssue(["rate"], "must be 8000…192000 frames per second, got \(rate)")) }
        if !(1...Self.maxChannels).contains(channels) { issues.append(ConfigIssue(["channels"], "must be 1…\(Self.maxChannels), got \(channels)")) }
        if period < .milliseconds(10) || period > .seconds(1) {
            issues.append(ConfigIssue(["period"], "must be 10ms…1s, got \(period)"))
        } else if window < period || window > .seconds(3600) {
            issues.append(ConfigIssue(["window"], "must be at least the period (\(period)) and at most 1h, got \(window)"))
        } else if Self.rates.contains(rate) && window.nanoseconds * Int64(rate) % 1_000_000_000 != 0 {
            issues.append(ConfigIssue(["window"], "must be a whole number of frames at \(rate) Hz, got \(window)"))
        }
        for (i, hz) in bands.enumerated() {
            if !OctaveBand.centres.contains(hz) {
                issues.append(ConfigIssue(["bands", String(i)], "must be an octave centre (\(OctaveBand.centres.map(OctaveBand.label).joined(separator: ", ")) Hz), got \(hz)"))
            } else if Self.rates.contains(rate) && !OctaveBand.fits(hz, rate: rate) {
                issues.append(ConfigIssue(["bands", String(i)], "\(OctaveBand.label(hz)) Hz does not fit under half the rate (\(rate / 2) Hz)"))
            } else if bands[..<i].contains(hz) {
                issues.append(ConfigIssue(["bands", String(i)], "\(OctaveBand.label(hz)) Hz is listed twice"))
            }
        }
        if !calibrationDB.isFinite || abs(calibrationDB) > 200 {
            issues.append(ConfigIssue(["calibration_db"], "must be -200…200 dB, got \(calibrationDB)"))
        }
        return issues
    }
}

/// `names: { level: NAME, peak: NAME, band: PREFIX }` of a `microphone` source (each band's channel
/// is the prefix, `_` and its centre: `band_db_1000`).
public struct MicrophoneChannelNames: Sendable, Equatable, Decodable {
    public var level = "level_db"
    public var peak = "peak_db"
    public var band = "band_db"

    enum CodingKeys: String, CodingKey, CaseIterable { case level, peak, band }

    public init(level: String = "level_db", peak: String = "peak_db", band: String = "band_db") {
        self.level = level; self.peak = peak; self.band = band
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        level = try c.decodeIfPresent(String.self, forKey: .level) ?? "level_db"
        peak = try c.decodeIfPresent(String.self, forKey: .peak) ?? "peak_db"
        band = try c.decodeIfPresent(String.self, forKey: .band) ?? "band_db"
    }
}

extension MicrophoneSourceConfig: SourceKind {
    public static let kind = "microphone"
    public func makeSource(_ context: SourceContext) throws(SourceConfigError) -> Source {
        try MicrophoneSource(config: self, log: context.log)
    }
}
