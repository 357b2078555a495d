/// Detector settings as written in the file: every field optional, applied over defaults.
public struct DetectorConfig: Sendable, Decodable {
    public var kind: DetectorKind?
    public var window: Int?
    public var windowDuration: ConfigDuration?
    public var warmup: Int?
    public var zOn: Double?
    public var zOff: Double?
    public var endAfter: Int?
    public var stdFloor: Double?
    public var holdOut: Int?
    public var smoothing: Double?
    public var alpha: Double?
    public var spikes: Bool?
    public var falseAlarmsPerDay: Double?
    public var health: HealthConfig?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, window, warmup, smoothing, alpha, health, spikes
        case windowDuration = "window_duration", zOn = "z_on", zOff = "z_off", endAfter = "end_after", stdFloor = "std_floor"
        case holdOut = "hold_out", falseAlarmsPerDay = "false_alarms_per_day"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let k = try c.decodeIfPresent(String.self, forKey: .kind) {
            guard let kind = DetectorKind(rawValue: k) else {
                throw DecodingError.dataCorruptedError(forKey: .kind, in: c,
                    debugDescription: "unknown detector kind '\(k)' (known: \(DetectorKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            self.kind = kind
        }
        window = try c.decodeIfPresent(Int.self, forKey: .window)
        windowDuration = try c.decodeIfPresent(ConfigDuration.self, forKey: .windowDuration)
        warmup = try c.decodeIfPresent(Int.self, forKey: .warmup)
        zOn = try c.decodeIfPresent(Double.self, forKey: .zOn)
        zOff = try c.decodeIfPresent(Double.self, forKey: .zOff)
        endAfter = try c.decodeIfPresent(Int.self, forKey: .endAfter)
        stdFloor = try c.decodeIfPresent(Double.self, forKey: .stdFloor)
        holdOut = try c.decodeIfPresent(Int.self, forKey: .holdOut)
        smoothing = try c.decodeIfPresent(Double.self, forKey: .smoothing)
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha)
        spikes = try c.decodeIfPresent(Bool.self, forKey: .spikes)
        falseAlarmsPerDay = try c.decodeIfPresent(Double.self, forKey: .falseAlarmsPerDay)
        health = try c.decodeIfPresent(HealthConfig.self, forKey: .health)
    }

    public func applied(to base: DetectorSettings) -> DetectorSettings {
        var s = base
        if let v = kind { s.kind = v }
        if let v = window { s.windowSize = v }
        if let v = windowDuration { s.windowDuration = v }
        if let v = warmup { s.warmup = v }
        if let v = zOn { s.zOn = v }
        if let v = zOff { s.zOff = v }
        if let v = endAfter { s.endAfter = v }
        if let v = stdFloor { s.stdFloor = v }
        if let v = holdOut { s.holdOut = v }
        if let v = smoothing { s.smoothing = v }
        if let v = alpha { s.alpha = v }
        if let v = spikes { s.spikes = v }
        if let v = falseAlarmsPerDay { s.falseAlarmsPerDay = v }
        // An explicit z_on is the expert override: fixed thresholds, no budget (it wins over a
        // false_alarms_per_day in the same block).
        if zOn != nil { s.falseAlarmsPerDay = nil }
        if let h = health { s.health = h.applied(to: s.health) }
        return s
    }

    /// Maps a `DetectorSettings.problems()` field name to the config key path.
    static func path(of field: String) -> [String] {
        switch field {
        case "window.size": return ["window"]
        case "window.duration": return ["window_duration"]
        default: return field.split(separator: ".").map(String.init)
        }
    }
}

/// `health:` — sensor health checks of a channel (or of every channel, under `detector:`).
public struct HealthConfig: Sendable, Decodable {
    /// `none` turns a check off where the defaults turned it on.
    public var stuckAfter: Setting<ConfigDuration>?
    public var resolution: Double?
    public var dropoutAfter: Setting<ConfigDuration>?
    public var min: Setting<Double>?
    public var max: Setting<Double>?
    public var maxRate: Setting<Double>?
    public var stuckIntervals: Setting<Double>?
    public var dropoutIntervals: Setting<Double>?

    /// A value, or `none` (the check is off).
    public enum Setting<T: Decodable & Sendable>: Sendable, Decodable {
        case value(T)
        case off
        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self), s == "none" || s == "off" { self = .off; return }
            self = .value(try c.decode(T.self))
        }
        var optional: T? { if case .value(let v) = self { return v } else { return nil } }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case resolution, min, max
        case stuckAfter = "stuck_after", dropoutAfter = "dropout_after", maxRate = "max_rate"
        case stuckIntervals = "stuck_intervals", dropoutIntervals = "dropout_intervals"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stuckAfter = try c.decodeIfPresent(Setting<ConfigDuration>.self, forKey: .stuckAfter)
        resolution = try c.decodeIfPresent(Double.self, forKey: .resolution)
        dropoutAfter = try c.decodeIfPresent(Setting<ConfigDuration>.self, forKey: .dropoutAfter)
        min = try c.decodeIfPresent(Setting<Double>.self, forKey: .min)
        max = try c.decodeIfPresent(Setting<Double>.self, forKey: .max)
        maxRate = try c.decodeIfPresent(Setting<Double>.self, forKey: .maxRate)
        stuckIntervals = try c.decodeIfPresent(Setting<Double>.self, forKey: .stuckIntervals)
        dropoutIntervals = try c.decodeIfPresent(Setting<Double>.self, forKey: .dropoutIntervals)
    }

    public func applied(to base: HealthSettings) -> HealthSettings {
        var h = base
        // An explicit duration means that duration, as before the cadence-aware defaults …
        if let v = stuckAfter { h.stuckAfter = v.optional; h.stuckIntervals = nil }
        if let v = resolution { h.resolution = v }
        if let v = dropoutAfter { h.dropoutAfter = v.optional; h.dropoutIntervals = nil }
        // … unless intervals are given too: then it is their floor.
        if let v = stuckIntervals { h.stuckIntervals = v.optional }
        if let v = dropoutIntervals { h.dropoutIntervals = v.optional }
        if let v = min { h.min = v.optional }
        if let v = max { h.max = v.optional }
        if let v = maxRate { h.maxRate = v.optional }
        return h
    }
}
