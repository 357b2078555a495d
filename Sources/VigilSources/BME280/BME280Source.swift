import VigilCore

/// What a `bme280` source has seen since it was built; a snapshot, safe to take from any thread.
public struct BME280Counters: Sendable, Equatable, PublishedCounters {
    /// Measurements delivered (each one temperature, one humidity, one pressure).
    public var reads = 0
    /// Attempts that failed: the bus (open, ioctl, read, write), a wrong chip id, a measurement
    /// that did not finish.
    public var errors = 0

    public init() {}

    public func publish(into w: inout CountWriter) { w("reads", reads); w("errors", errors) }
}

/// The BME280's registers and the datasheet's sequence for one forced-mode measurement.
struct BME280Chip {
    static let chipIDRegister: UInt8 = 0xD0
    static let chipID: UInt8 = 0x60
    static let ctrlHum: UInt8 = 0xF2
    static let status: UInt8 = 0xF3
    static let ctrlMeas: UInt8 = 0xF4
    /// status bit 3: a conversion is running.
    static let measuring: UInt8 = 0x08

    let bus: RegisterBus
    let calibration: BME280Calibration

    /// Checks the chip id (0x60 at 0xD0) and reads the calibration blocks.
    init(bus: RegisterBus, name: String, address: UInt8) throws(I2CError) {
        let id = try bus.read(Self.chipIDRegister, count: 1)[0]
        guard id == Self.chipID else {
            let what = id == 0x58 ? " (a BMP280: no humidity)" : id == 0x56 || id == 0x57 ? " (a BMP280 sample)" : ""
            throw I2CError(bus: name, address: address, call: "chip id",
                           reason: "read \(I2CDevice.hex(id)) at 0xD0, expected 0x60 for a BME280\(what)")
        }
        let a = try bus.read(BME280Calibration.firstBlock.register, count: BME280Calibration.firstBlock.count)
        let b = try bus.read(BME280Calibration.secondBlock.register, count: BME280Calibration.secondBlock.count)
        guard let c = BME280Calibration(a, b) else {
            throw I2CError(bus: name, address: address, call: "calibration", reason: "short read")
        }
        self.bus = bus
        calibration = c
    }

    /// ctrl_hum first (it takes effect with the ctrl_meas write after it), then ctrl_meas with
    /// mode forced; status bit 3 polled until the conversion ends (from its typical duration up to
    /// its maximum, datasheet 9.1); then the burst read of 0xF7…0xFE, which the chip keeps
    /// consistent (shadowing) for the whole read.
    func measure(_ os: BME280Oversampling, name: String, address: UInt8) throws(I2CError) -> BME280Raw {
        let t = BME280Oversampling.code(os.temperature) ?? 1
        let p = BME280Oversampling.code(os.pressure) ?? 1
        let h = BME280Oversampling.code(os.humidity) ?? 1
        try bus.write(Self.ctrlHum, h)
        try bus.write(Self.ctrlMeas, t << 5 | p << 2 | 0b01)
        let start = Clock.monotonicNanos()
        let typical = Int64((1 + 2 * os.temperature + 2 * os.pressure + 2 * os.humidity + 1) * 1_000_000)
        let longest = Int64((1.25 + 2.3 * Double(os.temperature + os.pressure + os.humidity) + 1.15) * 1e6) + 10_000_000
        Clock.sleep(untilMonotonic: start + typical)
        while try bus.read(Self.status, count: 1)[0] & Self.measuring != 0 {
            if Clock.monotonicNanos() - start > longest {
                throw I2CError(bus: name, address: address, call: "status 0xF3", reason: "still measuring after \(longest / 1_000_000) ms")
            }
            Clock.sleep(untilMonotonic: Clock.monotonicNanos() + 1_000_000)
        }
        guard let raw = BME280Raw(try bus.read(BME280Raw.dataRegister, count: BME280Raw.dataCount)) else {
            throw I2CError(bus: name, address: address, call: "read 0xF7", reason: "short read")
        }
        return raw
    }
}

/// `kind: bme280` — a BME280 on I²C (see `BME280SourceConfig`).
///
/// On start, and again after any failure, it opens the bus, checks the chip id and reads the
/// calibration. Every `interval` it runs one forced-mode measurement and delivers temperature (°C),
/// humidity (%RH) and pressure (hPa), compensated with the datasheet's integer formulas, all three
/// with the time the burst read returned. A failure is counted, reported down once (`source_down`
/// with the call and the OS's words) and logged at warning; the next attempt comes after a back-off
/// that starts at `interval` and doubles up to 30 s (or `interval`, when longer); the first good
/// measurement after reports up. Between measurements the thread sleeps in slices of at most
/// 250 ms, calling `sink.idle` and watching `stop`.
public final class BME280Source: Source, DeviceStateReporting {
    public typealias OpenBus = @Sendable () throws(I2CError) -> any RegisterBus

    public let name: String
    public let channels: [ChannelInfo]
    public let config: BME280SourceConfig
    private let log: SourceLogger
    private let openBus: OpenBus
    private let reporter: SourceReporter<BME280Counters>

    /// Throws when `config.validate()` finds problems.
    public convenience init(config: BME280SourceConfig, log: @escaping SourceLogger = { _, _ in }) throws(SourceConfigError) {
        let issues = config.validate()
        if !issues.isEmpty { throw SourceConfigError(issues: issues) }
        let bus = config.bus, address = UInt8(config.address)
        self.init(unvalidated: config, log: log) { () throws(I2CError) in try I2CDevice(bus: bus, address: address) }
    }

    /// Without the config checks and with the bus to use: for tests (short intervals, a register map).
    init(unvalidated config: BME280SourceConfig, log: @escaping SourceLogger = { _, _ in }, openBus: @escaping OpenBus) {
        self.config = config
        name = config.name
        channels = [ChannelInfo(name: config.channels.temperature, unit: "°C"),
                    ChannelInfo(name: config.channels.humidity, unit: "%RH"),
                    ChannelInfo(name: config.channels.pressure, unit: "hPa")]
        self.log = log
        self.openBus = openBus
        reporter = SourceReporter(source: config.name, BME280Counters())
    }

    public var counters: BME280Counters { reporter.counters }

    /// `/dev/i2c-1 address 0x76`
    public var portDescription: String { "\(config.bus) address \(I2CDevice.hex(UInt8(truncatingIfNeeded: config.address)))" }

    public func run(into sink: ReadingSink, until stop: StopSignal) {
        let interval = max(config.interval.nanoseconds, 1_000_000)
        var retry = Backoff(min: interval, max: max(interval, 30_000_000_000))
        var chip: BME280Chip?
        var next = Clock.monotonicNanos()
        reporter.push(to: sink)
        while !stop.isRaised {
            guard SourcePacing.sleep(untilMonotonic: next, sink, stop) else { break }
            do throws(I2CError) {
                let c: BME280Chip
                if let open = chip { c = open } else { c = try BME280Chip(bus: openBus(), name: config.bus, address: UInt8(config.address)) }
                chip = c
                let raw = try c.measure(config.oversampling, name: config.bus, address: UInt8(config.address))
                let mono = Clock.monotonicNanos(), wall = Clock.wallNanos()
                let v = c.calibration.compensate(raw)
                sink.reading(channel: 0, value: v.celsius, monoNanos: mono, wallNanos: wall)
                sink.reading(channel: 1, value: v.relativeHumidity, monoNanos: mono, wallNanos: wall)
                sink.reading(channel: 2, value: v.hectopascals, monoNanos: mono, wallNanos: wall)
                reporter.update(pushingTo: sink) { $0.reads += 1 }
                if reporter.lastState != true {
                    log(.info, "bme280 \(name): reading \(portDescription)")
                    reporter.report(up: true, device: portDescription, reason: "reading \(portDescription)", to: sink)
                }
                retry.reset()
                next += interval
                // Fell a whole interval behind (a slow bus): start the schedule over.
                let now = Clock.monotonicNanos()
                if now >= next + interval { next = now }
            } catch {
                chip = nil
                reporter.update(pushingTo: sink) { $0.errors += 1 }
                let delay = retry.next()
                reporter.reportRetrying(device: portDescription, reason: error.description, delay: delay,
                                        source: "bme280 \(name)", log: log, to: sink)
                next = Clock.monotonicNanos() + delay
            }
        }
    }
}
