import Synchronization
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// What a `ds18b20` source has seen since it was built, summed over its sensors; a snapshot.
public struct DS18B20Counters: Sendable, Equatable {
    /// Good readings delivered.
    public var reads = 0
    /// Reads that gave no reading, by cause (see `W1Reading`): a failed CRC (the driver's `NO` or
    /// the CRC-8 computed here), the 85 °C power-on value, an all-zero/all-ones scratchpad, an
    /// empty read, content that is not the w1_slave layout or whose `t=` disagrees with its bytes.
    public var crc = 0
    public var reset = 0
    public var noSensor = 0
    public var empty = 0
    public var garbage = 0
    /// The sensor's directory or file is not there (ENOENT, ENODEV): unplugged, or dropped by the bus master.
    public var missing = 0
    /// The read itself failed: EIO, ETIMEDOUT, any other errno (EISDIR, EACCES, EAGAIN …).
    public var eio = 0
    public var etimedout = 0
    public var otherErrors = 0

    public init() {}

    mutating func count(_ name: String) {
        switch name {
        case "reads": reads += 1
        case "crc": crc += 1
        case "reset": reset += 1
        case "no_sensor": noSensor += 1
        case "empty": empty += 1
        case "missing": missing += 1
        case "eio": eio += 1
        case "etimedout": etimedout += 1
        case "other_errors": otherErrors += 1
        default: garbage += 1
        }
    }
}

extension DS18B20Counters: PublishedCounters {
    public func publish(into w: inout CountWriter) {
        w("reads", reads); w("crc", crc); w("reset", reset); w("no_sensor", noSensor); w("empty", empty)
        w("garbage", garbage); w("missing", missing); w("eio", eio); w("etimedout", etimedout); w("other_errors", otherErrors)
    }
}

/// One sensor of a `ds18b20` source and how it is doing.
public struct DS18B20SensorState: Sendable, Equatable {
    /// `28-0000075f4e21`
    public var id: String
    public var channel: String
    /// Its directory under the w1 devices root.
    public var directory: String
    /// The state last reported: nil before its first read.
    public var isUp: Bool?
    /// Failed reads since its last good one.
    public var failuresInStreak = 0
}

/// `kind: ds18b20` — DS18B20 sensors on the 1-Wire bus, read through the w1_therm driver (see
/// `DS18B20SourceConfig`).
///
/// Every `interval` each sensor's `w1_slave` is read in turn (open/read/close); the read makes the
/// driver start a conversion and wait for it (750 ms at 12 bits), then it prints the scratchpad.
/// `W1SlaveParser` checks it — layout, all-zero/all-ones scratchpad, the driver's verdict and a
/// CRC-8 computed here, the 85 °C power-on value, `t=` against the bytes — and a reading that
/// passes is delivered on the sensor's channel with the time its read returned. Where a sensor
/// has no `w1_slave` its `temperature` (m°C, no CRC) is read instead.
///
/// A read that gives no reading is dropped and counted by cause (`DS18B20Counters`); the other
/// sensors go on. Each sensor reports its own transitions: down with the reason (the OS's words
/// for an errno, or what the check found) on its first failure, logged once at warning, and up on
/// its next good reading, logged at info; the transition names the sensor's directory as its device.
///
/// Between rounds the thread sleeps in slices of at most 250 ms, calling `sink.idle` and watching
/// `stop`; reads block (up to about 1 s per sensor), and `stop` is seen between sensors.
public final class DS18B20Source: Source, DeviceStateReporting {
    public let name: String
    public let channels: [ChannelInfo]
    public let config: DS18B20SourceConfig

    private let log: SourceLogger
    private let readFile: SysfsReader
    private let counts: SourceReporter<DS18B20Counters>
    private let states: Mutex<[DS18B20SensorState]>

    /// Throws when `config.validate()` finds problems, or when `sensors` is not set and no sensor
    /// can be found under `root`.
    public convenience init(config: DS18B20SourceConfig, log: @escaping SourceLogger = { _, _ in }) throws(SourceConfigError) {
        let issues = config.validate()
        if !issues.isEmpty { throw SourceConfigError(issues: issues) }
        try self.init(unvalidated: config, log: log)
    }

    /// Without the config checks and with the file reader to use: for tests, which need intervals
    /// under 1 s and a driver that fails on demand.
    init(unvalidated config: DS18B20SourceConfig, log: @escaping SourceLogger = { _, _ in },
         readFile: @escaping SysfsReader = SysfsFile.read) throws(SourceConfigError) {
        let sensors: [DS18B20SensorConfig]
        if let listed = config.sensors { sensors = listed } else { sensors = try Self.discover(root: config.root) }
        self.config = config
        name = config.name
        channels = sensors.map { ChannelInfo(name: $0.channelName, unit: "°C") }
        self.log = log
        self.readFile = readFile
        counts = SourceReporter(source: config.name, DS18B20Counters())
        states = Mutex(sensors.map {
            DS18B20SensorState(id: $0.id, channel: $0.channelName, directory: config.root + "/" + $0.id)
        })
    }

    /// Every `28-*` directory under `root`, sorted, each on its default channel.
    static func discover(root: String) throws(SourceConfigError) -> [DS18B20SensorConfig] {
        switch SysfsFile.list(root) {
        case .failure(let e):
            throw SourceConfigError(issues: [ConfigIssue(["sensors"],
                "none listed, and \(root) cannot be listed to find them: \(e.message) (is dtoverlay=w1-gpio set?)")])
        case .success(let names):
            let ids = names.filter(DS18B20SourceConfig.isSensorID)
            if ids.isEmpty {
                throw SourceConfigError(issues: [ConfigIssue(["sensors"],
                    "none listed, and no DS18B20 (28-*) is under \(root) (is dtoverlay=w1-gpio set and a sensor wired?)")])
            }
            return ids.map { DS18B20SensorConfig(id: $0) }
        }
    }

    public var counters: DS18B20Counters { counts.counters }

    /// Each sensor, in channel order.
    public var sensors: [DS18B20SensorState] { states.withLock { $0 } }

    /// The w1 devices root (each transition names its sensor's directory).
    public var portDescription: String { config.root }

    public func run(into sink: ReadingSink, until stop: StopSignal) {
        let interval = max(config.interval.nanoseconds, 1_000_000)
        var next = Clock.monotonicNanos()
        counts.push(to: sink)
        while !stop.isRaised {
            guard SourcePacing.sleep(untilMonotonic: next, sink, stop) else { break }
            readAll(sink, stop)
            next += interval
            // Fell a whole interval behind (many sensors, slow reads): start the schedule over.
            let now = Clock.monotonicNanos()
            if now >= next + interval { next = now }
        }
    }

    /// One round: every sensor read once, in order (until `stop`).
    func readAll(_ sink: ReadingSink, _ stop: StopSignal) {
        for index in channels.indices {
            if stop.isRaised { return }
            readSensor(index, sink)
            sink.idle(monoNanos: Clock.monotonicNanos(), wallNanos: Clock.wallNanos())
        }
    }

    enum Outcome: Equatable {
        case celsius(Double, file: String)
        case failure(counter: String, reason: String)
    }

    /// Reads sensor `index`, delivers or counts, and reports a transition.
    func readSensor(_ index: Int, _ sink: ReadingSink) {
        let sensor = states.withLock { $0[index] }
        let outcome = read(directory: sensor.directory)
        let mono = Clock.monotonicNanos()
        let wall = Clock.wallNanos()
        let label = "\(sensor.id) (\(sensor.channel))"
        switch outcome {
        case .celsius(let value, let file):
            sink.reading(channel: index, value: value, monoNanos: mono, wallNanos: wall)
            counts.update(pushingTo: sink) { $0.reads += 1 }
            let (wasUp, streak) = states.withLock { s in
                defer { s[index].isUp = true; s[index].failuresInStreak = 0 }
                return (s[index].isUp, s[index].failuresInStreak)
            }
            if wasUp != true {
                if wasUp == false {
                    log(.info, "ds18b20 \(name): \(label) reading again after \(streak) failed read(s)")
                } else {
                    log(.info, "ds18b20 \(name): \(label) reading \(file)")
                }
                counts.report(up: true, device: sensor.directory, reason: "reading \(file)", to: sink)
            }
        case .failure(let counter, let reason):
            counts.update(pushingTo: sink) { $0.count(counter) }
            let wasUp = states.withLock { s in
                defer { s[index].isUp = false; s[index].failuresInStreak += 1 }
                return s[index].isUp
            }
            log(.debug, "ds18b20 \(name): \(label) no reading (\(counter)): \(reason)")
            if wasUp != false {
                log(.warning, "ds18b20 \(name): \(label) no reading: \(reason); its readings are dropped until it recovers (further failures are only counted)")
                counts.report(up: false, device: sensor.directory, reason: reason, to: sink)
            }
        }
    }

    /// `w1_slave`, or `temperature` where there is no `w1_slave`.
    func read(directory: String) -> Outcome {
        let slave = directory + "/w1_slave"
        switch readFile(slave) {
        case .success(let bytes):
            let r = W1SlaveParser.parse(bytes)
            if case .celsius(let v) = r { return .celsius(v, file: slave) }
            return .failure(counter: r.counterName, reason: "\(slave): \(r.problem ?? "")")
        case .failure(let e) where e.errno == ENOENT:
            let plain = directory + "/temperature"
            switch readFile(plain) {
            case .success(let bytes):
                let r = W1SlaveParser.parseTemperature(bytes)
                if case .celsius(let v) = r { return .celsius(v, file: plain) }
                return .failure(counter: r.counterName, reason: "\(plain): \(r.problem ?? "")")
            case .failure(let e2) where e2.errno == ENOENT:
                return .failure(counter: SysfsFailureKind.missing.rawValue, reason: e.description)
            case .failure(let e2):
                return .failure(counter: SysfsFailureKind.classify(e2).rawValue, reason: e2.description)
            }
        case .failure(let e):
            return .failure(counter: SysfsFailureKind.classify(e).rawValue, reason: e.description)
        }
    }
}
