/// Detector settings as written in the file: every field optional, applied over defaults.
public struct DetectorConfig: Sendable, Decodable {
    public var window: Int?
    public var windowDuration: ConfigDuration?
    public var warmup: Int?
    public var zOn: Double?
    public var zOff: Double?
    public var endAfter: Int?
    public var stdFloor: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case window, warmup
        case windowDuration = "window_duration", zOn = "z_on", zOff = "z_off", endAfter = "end_after", stdFloor = "std_floor"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        window = try c.decodeIfPresent(Int.self, forKey: .window)
        windowDuration = try c.decodeIfPresent(ConfigDuration.self, forKey: .windowDuration)
        warmup = try c.decodeIfPresent(Int.self, forKey: .warmup)
        zOn = try c.decodeIfPresent(Double.self, forKey: .zOn)
        zOff = try c.decodeIfPresent(Double.self, forKey: .zOff)
        endAfter = try c.decodeIfPresent(Int.self, forKey: .endAfter)
        stdFloor = try c.decodeIfPresent(Double.self, forKey: .stdFloor)
    }

    public func applied(to base: DetectorSettings) -> DetectorSettings {
        var s = base
        if let v = window { s.windowSize = v }
        if let v = windowDuration { s.windowDuration = v }
        if let v = warmup { s.warmup = v }
        if let v = zOn { s.zOn = v }
        if let v = zOff { s.zOff = v }
        if let v = endAfter { s.endAfter = v }
        if let v = stdFloor { s.stdFloor = v }
        return s
    }

    /// Maps a `DetectorSettings.problems()` field name to the config key path.
    static func path(of field: String) -> [String] {
        switch field {
        case "window.size": return ["window"]
        case "window.duration": return ["window_duration"]
        default: return [field]
        }
    }
}
