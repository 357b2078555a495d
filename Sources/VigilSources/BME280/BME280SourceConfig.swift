import VigilCore

/// `kind: bme280` — a Bosch BME280 temperature/humidity/pressure sensor on I²C, read through
/// `/dev/i2c-N` in forced mode (one measurement per `interval`, the sensor sleeping in between).
///
/// ```yaml
/// - kind: bme280
///   name: air
///   bus: /dev/i2c-1          # dtparam=i2c_arm=on: SDA on GPIO2 (pin 3), SCL on GPIO3 (pin 5)
///   address: 0x76            # 0x77 when SDO is tied to VDDIO
///   interval: 10s
///   oversampling: { temperature: 1, pressure: 1, humidity: 1 }
///   channels: { temperature: air_temp, humidity: air_rh, pressure: air_pressure }
/// ```
public struct BME280SourceConfig: Sendable, Decodable {
    public var name: String
    /// The i2c-dev device of the bus.
    public var bus: String
    /// 0x76 (SDO to GND) or 0x77 (SDO to VDDIO).
    public var address: Int
    public var interval: ConfigDuration
    public var oversampling: BME280Oversampling
    public var channels: BME280ChannelNames

    public static let defaultName = "bme280"
    public static let addresses = [0x76, 0x77]
    public static let minInterval = ConfigDuration.seconds(1)

    enum CodingKeys: String, CodingKey, CaseIterable { case kind, name, bus, address, interval, oversampling, channels }

    public init(name: String = BME280SourceConfig.defaultName, bus: String = "/dev/i2c-1", address: Int = 0x76,
                interval: ConfigDuration = .seconds(10), oversampling: BME280Oversampling = BME280Oversampling(),
                channels: BME280ChannelNames = BME280ChannelNames()) {
        self.name = name; self.bus = bus; self.address = address; self.interval = interval
        self.oversampling = oversampling; self.channels = channels
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BME280SourceConfig()
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? d.name
        bus = try c.decodeIfPresent(String.self, forKey: .bus) ?? d.bus
        address = try c.decodeIfPresent(Int.self, forKey: .address) ?? d.address
        interval = try c.decodeIfPresent(ConfigDuration.self, forKey: .interval) ?? d.interval
        oversampling = try c.decodeIfPresent(BME280Oversampling.self, forKey: .oversampling) ?? d.oversampling
        channels = try c.decodeIfPresent(BME280ChannelNames.self, forKey: .channels) ?? d.channels
    }

    public var headerBuses: [HeaderBusUse] { [HeaderBusUse(.i2c(device: bus), path: ["bus"])] }

    public var channelPaths: [(name: String, path: [String])] {
        [(channels.temperature, ["channels", "temperature"]), (channels.humidity, ["channels", "humidity"]),
         (channels.pressure, ["channels", "pressure"])]
    }

    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if name.isEmpty { issues.append(ConfigIssue(["name"], "must not be empty")) }
        if !bus.hasPrefix("/") { issues.append(ConfigIssue(["bus"], "must be the bus's device path, such as /dev/i2c-1, got '\(bus)'")) }
        if !Self.addresses.contains(address) {
            issues.append(ConfigIssue(["address"], "must be 0x76 (SDO to GND) or 0x77 (SDO to VDDIO), got 0x\(String(address, radix: 16))"))
        }
        if interval < Self.minInterval { issues.append(ConfigIssue(["interval"], "must be at least 1s, got \(interval)")) }
        for (key, value) in [("temperature", oversampling.temperature), ("pressure", oversampling.pressure), ("humidity", oversampling.humidity)]
        where BME280Oversampling.code(value) == nil {
            issues.append(ConfigIssue(["oversampling", key], "must be 1, 2, 4, 8 or 16, got \(value)"))
        }
        // Channel names (empty, repeated) are checked with every source's, in VigilConfig.
        return issues
    }
}

/// Samples averaged per measurement: 1, 2, 4, 8 or 16 (more is less noise and a longer measurement).
public struct BME280Oversampling: Sendable, Equatable, Decodable {
    public var temperature = 1
    public var pressure = 1
    public var humidity = 1

    enum CodingKeys: String, CodingKey, CaseIterable { case temperature, pressure, humidity }

    public init(temperature: Int = 1, pressure: Int = 1, humidity: Int = 1) {
        self.temperature = temperature; self.pressure = pressure; self.humidity = humidity
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        temperature = try c.decodeIfPresent(Int.self, forKey: .temperature) ?? 1
        pressure = try c.decodeIfPresent(Int.self, forKey: .pressure) ?? 1
        humidity = try c.decodeIfPresent(Int.self, forKey: .humidity) ?? 1
    }

    /// The register's 3-bit osrs code: 1 → 1, 2 → 2, 4 → 3, 8 → 4, 16 → 5; nil for other counts.
    public static func code(_ samples: Int) -> UInt8? {
        switch samples { case 1: 1; case 2: 2; case 4: 3; case 8: 4; case 16: 5; default: nil }
    }
}

/// `channels: { temperature: NAME, humidity: NAME, pressure: NAME }` of a `bme280` source.
public struct BME280ChannelNames: Sendable, Equatable, Decodable {
    public var temperature = "temperature"
    public var humidity = "humidity"
    public var pressure = "pressure"

    enum CodingKeys: String, CodingKey, CaseIterable { case temperature, humidity, pressure }

    public init(temperature: String = "temperature", humidity: String = "humidity", pressure: String = "pressure") {
        self.temperature = temperature; self.humidity = humidity; self.pressure = pressure
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        temperature = try c.decodeIfPresent(String.self, forKey: .temperature) ?? "temperature"
        humidity = try c.decodeIfPresent(String.self, forKey: .humidity) ?? "humidity"
        pressure = try c.decodeIfPresent(String.self, forKey: .pressure) ?? "pressure"
    }
}

extension BME280SourceConfig: SourceKind {
    public static let kind = "bme280"
    public static var probe: (any DeviceProbe)? { I2CBusesProbe() }
    public func makeSource(_ context: SourceContext) throws(SourceConfigError) -> Source {
        try BME280Source(config: self, log: context.log)
    }
}
