import VigilCore

/// `kind: dht_iio` — a DHT11/DHT22 read by the Linux `dht11` IIO driver (`dtoverlay=dht11,gpiopin=4`
/// on a Raspberry Pi), through `in_temp_input` and `in_humidityrelative_input` of its
/// `/sys/bus/iio/devices/iio:deviceN` directory.
///
/// ```yaml
/// - kind: dht_iio
///   name: dht
///   interval: 10s
///   channels: { temperature: air_temp, humidity: air_rh }
/// ```
public struct DHTIIOSourceConfig: Sendable, Decodable {
    public var name: String
    /// The IIO device directory, e.g. `/sys/bus/iio/devices/iio:device0`. Without it the device is
    /// looked up by `deviceName` under `root` at every (re)try, so a renumbered device is found.
    public var path: String?
    /// The device's `name` attribute to look for when `path` is not set; `nil` means `dht11`.
    /// `dht11` also matches the device-tree names `dht11@4` and `4.dht11`.
    public var deviceName: String?
    /// Where IIO devices are listed. Settable only so tests can point it at a temporary directory.
    public var root: String
    /// Time between reads; at least 2 s, the fastest a DHT may be read.
    public var interval: ConfigDuration
    /// Channel names for the two readings.
    public var channels: DHTIIOChannelNames
    /// After a failed read, read again 2 s later up to this many times before waiting for the
    /// next interval (never past it).
    public var retries: Int

    public static let defaultName = "dht_iio"
    public static let defaultDeviceName = "dht11"
    public static let defaultRoot = "/sys/bus/iio/devices"
    /// The sensor must not be read faster; the driver also serves a value younger than this from its cache.
    public static let minInterval = ConfigDuration.seconds(2)
    /// Delay before a retry.
    public static let retryDelay = ConfigDuration.seconds(2)
    public static let retriesRange = 0...5

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, name, path, root, interval, channels, retries
        case deviceName = "device_name"
    }

    public init(name: String = DHTIIOSourceConfig.defaultName, path: String? = nil, deviceName: String? = nil,
                root: String = DHTIIOSourceConfig.defaultRoot, interval: ConfigDuration = .seconds(10),
                channels: DHTIIOChannelNames = DHTIIOChannelNames(), retries: Int = 2) {
        self.name = name; self.path = path; self.deviceName = deviceName; self.root = root
        self.interval = interval; self.channels = channels; self.retries = retries
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DHTIIOSourceConfig()
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? d.name
        path = try c.decodeIfPresent(String.self, forKey: .path)
        deviceName = try c.decodeIfPresent(String.self, forKey: .deviceName)
        root = try c.decodeIfPresent(String.self, forKey: .root) ?? d.root
        interval = try c.decodeIfPresent(ConfigDuration.self, forKey: .interval) ?? d.interval
        channels = try c.decodeIfPresent(DHTIIOChannelNames.self, forKey: .channels) ?? d.channels
        retries = try c.decodeIfPresent(Int.self, forKey: .retries) ?? d.retries
    }

    /// `deviceName`, or `dht11`.
    public var effectiveDeviceName: String { deviceName ?? Self.defaultDeviceName }

    /// Temperature (°C), then humidity (%RH).
    public var channelNames: [String] { [channels.temperature, channels.humidity] }

    public var channelPaths: [(name: String, path: [String])] {
        [(channels.temperature, ["channels", "temperature"]), (channels.humidity, ["channels", "humidity"])]
    }

    /// Field checks beyond decoding, with paths relative to the source entry.
    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        func add(_ path: [String], _ message: String) { issues.append(ConfigIssue(path, message)) }
        if name.isEmpty { add(["name"], "must not be empty") }
        if let p = path {
            if p.isEmpty { add(["path"], "must not be empty") } else if !p.hasPrefix("/") {
                add(["path"], "must be an absolute path like /sys/bus/iio/devices/iio:device0, got '\(p)'")
            }
            if deviceName != nil { add(["device_name"], "set either path or device_name, not both") }
        }
        if let n = deviceName, n.isEmpty { add(["device_name"], "must not be empty") }
        if !root.hasPrefix("/") { add(["root"], "must be an absolute path, got '\(root)'") }
        if interval < Self.minInterval {
            add(["interval"], "must be at least 2s (a DHT must not be read faster), got \(interval)")
        }
        if !Self.retriesRange.contains(retries) {
            add(["retries"], "must be between \(Self.retriesRange.lowerBound) and \(Self.retriesRange.upperBound), got \(retries)")
        }
        // Names that are not topic-safe or appear twice (here or in another source) are
        // reported by `VigilConfig.validate()`.
        if channels.temperature.isEmpty { add(["channels", "temperature"], "must not be empty") }
        if channels.humidity.isEmpty { add(["channels", "humidity"], "must not be empty") }
        return issues
    }
}

/// `channels: { temperature: NAME, humidity: NAME }` of a `dht_iio` source.
public struct DHTIIOChannelNames: Sendable, Hashable, Decodable {
    public var temperature: String
    public var humidity: String

    enum CodingKeys: String, CodingKey, CaseIterable { case temperature, humidity }

    public init(temperature: String = "temperature", humidity: String = "humidity") {
        self.temperature = temperature; self.humidity = humidity
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        temperature = try c.decodeIfPresent(String.self, forKey: .temperature) ?? "temperature"
        humidity = try c.decodeIfPresent(String.self, forKey: .humidity) ?? "humidity"
    }
}

extension DHTIIOSourceConfig: SourceKind {
    public static let kind = "dht_iio"
    public func makeSource(_ context: SourceContext) throws(SourceConfigError) -> Source {
        try DHTIIOSource(config: self, log: context.log)
    }
}
