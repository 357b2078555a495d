import VigilCore

/// `kind: ads1x15` — one input of a TI ADS1015/ADS1115 ADC on I²C, read through `/dev/i2c-N`:
/// either a voltage every `interval` (any analog sensor, with scale and offset), or the level of an
/// analog sound sensor (a MAX4466/MAX9814 breakout) per `window`.
///
/// ```yaml
/// - kind: ads1x15
///   name: hum
///   chip: ads1115            # or ads1015
///   bus: /dev/i2c-1
///   address: 0x48            # 0x48…0x4B (ADDR to GND, VDD, SDA, SCL)
///   input: ain0              # ain0…ain3 against GND, or ain0-ain1, ain0-ain3, ain1-ain3, ain2-ain3
///   range: 4.096             # ± volts full scale: 6.144, 4.096, 2.048, 1.024, 0.512, 0.256
///   mode: sound              # or voltage
///   data_rate: 860           # samples per second, one the chip has; default 128 (voltage), fastest (sound)
///   window: 1s               # sound: per reading
///   calibration_db: 0        # sound: added to 20·log10(RMS volts)
///   interval: 1s             # voltage: per reading
///   scale: 1                 # voltage: value = volts × scale + offset
///   offset: 0
///   names: { value: volts, level: level_db, peak_to_peak: peak_to_peak_v }
/// ```
public struct ADS1x15SourceConfig: Sendable, Decodable {
    public enum Mode: String, Sendable, Equatable, CaseIterable { case voltage, sound }

    public var name: String
    public var chip: ADS1x15Chip
    public var bus: String
    public var address: Int
    public var input: ADS1x15Input
    /// ± volts full scale, as written (checked against the PGA's ranges in `validate`).
    public var range: Double
    public var mode: Mode
    /// Samples per second; nil: 128 for voltage, the chip's fastest for sound.
    public var dataRate: Int?
    public var interval: ConfigDuration
    public var scale: Double
    public var offset: Double
    public var window: ConfigDuration
    public var calibrationDB: Double
    public var names: ADS1x15ChannelNames

    public static let defaultName = "ads1x15"
    public static let addresses = 0x48...0x4B

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, name, chip, bus, address, input, range, mode, interval, scale, offset, window, names
        case dataRate = "data_rate", calibrationDB = "calibration_db"
    }

    public init(name: String = ADS1x15SourceConfig.defaultName, chip: ADS1x15Chip = .ads1115, bus: String = "/dev/i2c-1",
                address: Int = 0x48, input: ADS1x15Input = .ain0, range: Double = 4.096, mode: Mode = .voltage,
                dataRate: Int? = nil, interval: ConfigDuration = .seconds(1), scale: Double = 1, offset: Double = 0,
                window: ConfigDuration = .seconds(1), calibrationDB: Double = 0, names: ADS1x15ChannelNames = ADS1x15ChannelNames()) {
        self.name = name; self.chip = chip; self.bus = bus; self.address = address; self.input = input
        self.range = range; self.mode = mode; self.dataRate = dataRate; self.interval = interval; self.scale = scale
        self.offset = offset; self.window = window; self.calibrationDB = calibrationDB; self.names = names
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ADS1x15SourceConfig()
        func choice<T: RawRepresentable & CaseIterable>(_ key: CodingKeys, _ fallback: T) throws -> T where T.RawValue == String {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return fallback }
            guard let value = T(rawValue: text.lowercased()) else {
                let known = T.allCases.map(\.rawValue).joined(separator: ", ")
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "must be one of \(known), got '\(text)'")
            }
            return value
        }
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? d.name
        chip = try choice(.chip, d.chip)
        bus = try c.decodeIfPresent(String.self, forKey: .bus) ?? d.bus
        address = try c.decodeIfPresent(Int.self, forKey: .address) ?? d.address
        input = try choice(.input, d.input)
        range = try c.decodeIfPresent(Double.self, forKey: .range) ?? d.range
        mode = try choice(.mode, d.mode)
        dataRate = try c.decodeIfPresent(Int.self, forKey: .dataRate)
        interval = try c.decodeIfPresent(ConfigDuration.self, forKey: .interval) ?? d.interval
        scale = try c.decodeIfPresent(Double.self, forKey: .scale) ?? d.scale
        offset = try c.decodeIfPresent(Double.self, forKey: .offset) ?? d.offset
        window = try c.decodeIfPresent(ConfigDuration.self, forKey: .window) ?? d.window
        calibrationDB = try c.decodeIfPresent(Double.self, forKey: .calibrationDB) ?? d.calibrationDB
        names = try c.decodeIfPresent(ADS1x15ChannelNames.self, forKey: .names) ?? d.names
    }

    /// The samples per second used: the configured rate, or the mode's default.
    public var samplesPerSecond: Int { dataRate ?? (mode == .voltage ? 128 : chip.dataRates.max()!) }

    /// The config word's fields; nil when `range` or the rate is not one the chip has.
    public var registerConfig: ADS1x15Config? {
        guard let r = ADS1x15Range.allCases.first(where: { $0.volts == range }),
              let code = chip.dataRateCode(samplesPerSecond) else { return nil }
        return ADS1x15Config(input: input, range: r, conversion: mode == .voltage ? .singleShot : .continuous, dataRateCode: code)
    }

    public var channelPaths: [(name: String, path: [String])] {
        switch mode {
        case .voltage: [(names.value, ["names", "value"])]
        case .sound: [(names.level, ["names", "level"]), (names.peakToPeak, ["names", "peak_to_peak"])]
        }
    }

    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if name.isEmpty { issues.append(ConfigIssue(["name"], "must not be empty")) }
        if !bus.hasPrefix("/") { issues.append(ConfigIssue(["bus"], "must be the bus's device path, such as /dev/i2c-1, got '\(bus)'")) }
        if !Self.addresses.contains(address) {
            issues.append(ConfigIssue(["address"], "must be 0x48…0x4B (ADDR to GND, VDD, SDA or SCL), got 0x\(String(address, radix: 16))"))
        }
        if !ADS1x15Range.allCases.contains(where: { $0.volts == range }) {
            issues.append(ConfigIssue(["range"], "must be 6.144, 4.096, 2.048, 1.024, 0.512 or 0.256 (± volts), got \(range)"))
        }
        if chip.dataRateCode(samplesPerSecond) == nil {
            let rates = Array(Set(chip.dataRates)).sorted().map(String.init).joined(separator: ", ")
            issues.append(ConfigIssue(["data_rate"], "must be one of the \(chip.rawValue)'s rates: \(rates), got \(samplesPerSecond)"))
        }
        switch mode {
        case .voltage:
            if interval < .milliseconds(10) { issues.append(ConfigIssue(["interval"], "must be at least 10ms, got \(interval)")) }
            if !scale.isFinite || scale == 0 { issues.append(ConfigIssue(["scale"], "must be a finite number other than 0, got \(scale)")) }
            if !offset.isFinite { issues.append(ConfigIssue(["offset"], "must be a finite number, got \(offset)")) }
        case .sound:
            if window < .milliseconds(100) || window > .seconds(3600) {
                issues.append(ConfigIssue(["window"], "must be 100ms…1h, got \(window)"))
            }
            if !calibrationDB.isFinite || abs(calibrationDB) > 200 {
                issues.append(ConfigIssue(["calibration_db"], "must be -200…200 dB, got \(calibrationDB)"))
            }
        }
        return issues
    }
}

/// `names: { value: NAME, level: NAME, peak_to_peak: NAME }` of an `ads1x15` source (`value` in
/// voltage mode, the other two in sound mode).
public struct ADS1x15ChannelNames: Sendable, Equatable, Decodable {
    public var value = "volts"
    public var level = "level_db"
    public var peakToPeak = "peak_to_peak_v"

    enum CodingKeys: String, CodingKey, CaseIterable { case value, level, peakToPeak = "peak_to_peak" }

    public init(value: String = "volts", level: String = "level_db", peakToPeak: String = "peak_to_peak_v") {
        self.value = value; self.level = level; self.peakToPeak = peakToPeak
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = try c.decodeIfPresent(String.self, forKey: .value) ?? "volts"
        level = try c.decodeIfPresent(String.self, forKey: .level) ?? "level_db"
        peakToPeak = try c.decodeIfPresent(String.self, forKey: .peakToPeak) ?? "peak_to_peak_v"
    }
}

extension ADS1x15SourceConfig: SourceKind {
    public static let kind = "ads1x15"
    public static var probe: (any DeviceProbe)? { I2CBusesProbe() }
    public func makeSource(_ context: SourceContext) throws(SourceConfigError) -> Source {
        try ADS1x15Source(config: self, log: context.log)
    }
}
