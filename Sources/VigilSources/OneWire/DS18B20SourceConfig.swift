import VigilCore

/// `kind: ds18b20` — DS18B20 temperature sensors on the 1-Wire bus (`dtoverlay=w1-gpio,gpiopin=4`),
/// read through the w1_therm driver's `/sys/bus/w1/devices/28-XXXXXXXXXXXX/w1_slave`.
///
/// ```yaml
/// - kind: ds18b20
///   name: tanks
///   interval: 30s
///   sensors:
///     - { id: 28-0000075f4e21, channel: tank_top }
///     - { id: 28-0000075f9a03, channel: tank_bottom }
/// ```
public struct DS18B20SourceConfig: Sendable, Decodable {
    public var name: String
    /// The sensors, in channel order. nil: every `28-*` sensor found under `root` when the source
    /// is built, sorted by id, each on channel `ds18b20_<12 hex digits of its id>`.
    public var sensors: [DS18B20SensorConfig]?
    /// Where 1-Wire devices are listed. Settable only so tests can point it at a temporary directory.
    public var root: String
    /// Time between reads of all sensors; at least 1 s (a 12-bit conversion takes 750 ms).
    public var interval: ConfigDuration

    public static let defaultName = "ds18b20"
    public static let defaultRoot = "/sys/bus/w1/devices"
    public static let minInterval = ConfigDuration.seconds(1)

    enum CodingKeys: String, CodingKey, CaseIterable { case kind, name, sensors, root, interval }

    public init(name: String = DS18B20SourceConfig.defaultName, sensors: [DS18B20SensorConfig]? = nil,
                root: String = DS18B20SourceConfig.defaultRoot, interval: ConfigDuration = .seconds(10)) {
        self.name = name; self.sensors = sensors; self.root = root; self.interval = interval
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DS18B20SourceConfig()
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? d.name
        sensors = try c.decodeIfPresent([DS18B20SensorConfig].self, forKey: .sensors)
        root = try c.decodeIfPresent(String.self, forKey: .root) ?? d.root
        interval = try c.decodeIfPresent(ConfigDuration.self, forKey: .interval) ?? d.interval
    }

    /// The channel of each listed sensor; empty when `sensors` is not set (the channels are known
    /// only once the sensors have been found).
    public var channelNames: [String] { channelPaths.map(\.name) }

    public var channelPaths: [(name: String, path: [String])] {
        (sensors ?? []).enumerated().map { (i, s) in
            (s.channelName, ["sensors", "\(i)", s.channel == nil ? "id" : "channel"])
        }
    }

    /// `28-0000075f4e21` → `ds18b20_0000075f4e21`: the channel of a sensor without one.
    public static func defaultChannel(forID id: String) -> String {
        "ds18b20_" + (id.hasPrefix("28-") ? String(id.dropFirst(3)) : id)
    }

    /// `28-` and 12 lower-case hex digits, as the w1 bus names a DS18B20's directory.
    public static func isSensorID(_ id: String) -> Bool {
        let u = Array(id.utf8)
        guard u.count == 15, u[0] == UInt8(ascii: "2"), u[1] == UInt8(ascii: "8"), u[2] == UInt8(ascii: "-") else { return false }
        return u[3...].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// Field checks beyond decoding, with paths relative to the source entry.
    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        func add(_ path: [String], _ message: String) { issues.append(ConfigIssue(path, message)) }
        if name.isEmpty { add(["name"], "must not be empty") }
        if !root.hasPrefix("/") { add(["root"], "must be an absolute path, got '\(root)'") }
        if interval < Self.minInterval {
            add(["interval"], "must be at least 1s (a 12-bit conversion takes 750ms), got \(interval)")
        }
        if let sensors {
            if sensors.isEmpty {
                add(["sensors"], "must list at least one sensor (or leave sensors out to read every 28-* sensor found)")
            }
            var ids: [String: Int] = [:]
            for (i, s) in sensors.enumerated() {
                if !Self.isSensorID(s.id) {
                    add(["sensors", "\(i)", "id"], "must be a DS18B20 id like 28-0000075f4e21 (28- and 12 lower-case hex digits, the directory name under \(root)), got '\(s.id)'")
                } else if let j = ids[s.id] {
                    add(["sensors", "\(i)", "id"], "'\(s.id)' is already sensors[\(j)]")
                } else {
                    ids[s.id] = i
                }
                // A channel named twice is reported by `VigilConfig.validate()`.
                if let c = s.channel, c.isEmpty { add(["sensors", "\(i)", "channel"], "must not be empty") }
            }
        }
        return issues
    }
}

/// `{ id: 28-0000075f4e21, channel: tank }` — one DS18B20 of a `ds18b20` source.
public struct DS18B20SensorConfig: Sendable, Hashable, Decodable {
    /// The sensor's directory name under the w1 devices root.
    public var id: String
    /// The channel name; nil means `ds18b20_<12 hex digits>`.
    public var channel: String?

    enum CodingKeys: String, CodingKey, CaseIterable { case id, channel }

    public init(id: String, channel: String? = nil) { self.id = id; self.channel = channel }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        channel = try c.decodeIfPresent(String.self, forKey: .channel)
    }

    /// `channel`, or the default for `id`.
    public var channelName: String { channel ?? DS18B20SourceConfig.defaultChannel(forID: id) }
}

extension DS18B20SourceConfig: SourceKind {
    public static let kind = "ds18b20"
    public func makeSource(_ context: SourceContext) throws(SourceConfigError) -> Source {
        try DS18B20Source(config: self, log: context.log)
    }
}
