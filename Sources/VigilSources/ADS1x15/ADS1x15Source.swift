import VigilCore

/// What an `ads1x15` source has seen since it was built; a snapshot, safe to take from any thread.
public struct ADS1x15Counters: Sendable, Equatable, PublishedCounters {
    /// Conversions read.
    public var reads = 0
    /// Attempts that failed: the bus (open, ioctl, read, write), a conversion that did not end.
    public var errors = 0
    /// Sound mode: sample times missed because the loop fell behind (the schedule started over).
    public var late = 0

    public init() {}

    public func publish(into w: inout CountWriter) { w("reads", reads); w("errors", errors); w("late", late) }
}

/// The datasheet's sequences on one ADS1x15, over any `WordRegisterBus`.
struct ADS1x15Device {
    let bus: WordRegisterBus
    let config: ADS1x15Config
    /// Nanoseconds per conversion at the configured rate.
    let conversionNanos: Int64

    init(bus: WordRegisterBus, config: ADS1x15Config, samplesPerSecond: Int) {
        self.bus = bus; self.config = config
        conversionNanos = 1_000_000_000 / Int64(max(samplesPerSecond, 1))
    }

    /// Single-shot: writes the config word (OS set starts the conversion), waits one conversion
    /// time, polls the OS bit until it reads 1 (no conversion running) and reads the result.
    func convertOnce(name: String, address: UInt8) throws(I2CError) -> UInt16 {
        try bus.writeWord(ADS1x15Register.config.rawValue, config.word)
        let start = Clock.monotonicNanos()
        // The internal oscillator is within ±10 %; the longest wait before calling it stuck is generous.
        let longest = 4 * conversionNanos + 20_000_000
        Clock.sleep(untilMonotonic: start + conversionNanos + conversionNanos / 10)
        while !ADS1x15Config.isReady(try bus.readWord(ADS1x15Register.config.rawValue)) {
            if Clock.monotonicNanos() - start > longest {
                throw I2CError(bus: name, address: address, call: "config 0x01",
                               reason: "conversion still running after \(longest / 1_000_000) ms")
            }
            Clock.sleep(untilMonotonic: Clock.monotonicNanos() + 1_000_000)
        }
        return try bus.readWord(ADS1x15Register.conversion.rawValue)
    }

    /// Continuous: writes the config word once; the conversion register then follows the input.
    func startContinuous() throws(I2CError) { try bus.writeWord(ADS1x15Register.config.rawValue, config.word) }

    func latest() throws(I2CError) -> UInt16 { try bus.readWord(ADS1x15Register.conversion.rawValue) }
}

/// `kind: ads1x15` — one input of an ADS1015/ADS1115 (see `ADS1x15SourceConfig`).
///
/// Voltage mode: every `interval`, one single-shot conversion, delivered as volts × scale + offset.
/// Sound mode: the chip converts continuously at `data_rate`; the source reads the conversion
/// register once per sample time and every `window` of samples delivers the level (dBV of the AC
/// part's RMS, plus `calibration_db`) and the peak-to-peak volts. A failure is counted, reported
/// down once and retried after a back-off from 1 s (or `interval`) doubling up to 30 s; the first
/// good read after it reports up.
public final class ADS1x15Source: Source, DeviceStateReporting, @unchecked Sendable {
    public typealias OpenBus = @Sendable () throws(I2CError) -> WordRegisterBus

    public let name: String
    public let channels: [ChannelInfo]
    let config: ADS1x15SourceConfig
    private let registers: ADS1x15Config
    private let log: SourceLogger
    private let openBus: OpenBus
    private let reporter: SourceReporter<ADS1x15Counters>

    public convenience init(config: ADS1x15SourceConfig, log: @escaping SourceLogger = { _, _ in }) throws(SourceConfigError) {
        let issues = config.validate()
        if !issues.isEmpty { throw SourceConfigError(issues: issues) }
        let bus = config.bus, address = UInt8(config.address)
        self.init(unvalidated: config, log: log) { () throws(I2CError) in try I2CDevice(bus: bus, address: address) }
    }

    /// Without the config checks and with the bus to use: for tests (recorded transactions).
    init(unvalidated config: ADS1x15SourceConfig, log: @escaping SourceLogger = { _, _ in }, openBus: @escaping OpenBus) {
        self.config = config
        name = config.name
        registers = config.registerConfig
            ?? ADS1x15Config(input: config.input, range: .fs4_096, conversion: .singleShot, dataRateCode: 4)
        channels = config.mode == .voltage
            ? [ChannelInfo(name: config.names.value, unit: config.scale == 1 && config.offset == 0 ? "V" : "")]
            : [ChannelInfo(name: config.names.level, unit: "dB"), ChannelInfo(name: config.names.peakToPeak, unit: "V")]
        self.log = log
        self.openBus = openBus
        reporter = SourceReporter(source: config.name, ADS1x15Counters())
    }

    public var counters: ADS1x15Counters { reporter.counters }

    /// `/dev/i2c-1 address 0x48 ain0`
    public var portDescription: String {
        "\(config.bus) address \(I2CDevice.hex(UInt8(truncatingIfNeeded: config.address))) \(config.input.rawValue)"
    }

    public func run(into sink: ReadingSink, until stop: StopSignal) {
        let first = config.mode == .voltage ? max(config.interval.nanoseconds, 1_000_000) : 1_000_000_000
        var retry = Backoff(min: first, max: max(first, 30_000_000_000))
        reporter.push(to: sink)
        while !stop.isRaised {
            do throws(I2CError) {
                let device = ADS1x15Device(bus: try openBus(), config: registers, samplesPerSecond: config.samplesPerSecond)
                switch config.mode {
                case .voltage: try readVoltages(device, sink, stop, &retry)
                case .sound: try sampleSound(device, sink, stop, &retry)
                }
            } catch {
                reporter.update(pushingTo: sink) { $0.errors += 1 }
                let delay = retry.next()
                reporter.reportRetrying(device: portDescription, reason: error.description, delay: delay,
                                        source: "ads1x15 \(name)", log: log, to: sink)
                SourcePacing.sleep(untilMonotonic: Clock.monotonicNanos() + delay, sink, stop)
            }
        }
    }

    /// After a good read: up once, the back-off starts over.
    private func delivered(_ sink: ReadingSink, _ retry: inout Backoff) {
        if reporter.lastState != true {
            log(.info, "ads1x15 \(name): reading \(portDescription)")
            reporter.report(up: true, device: portDescription, reason: "reading \(portDescription)", to: sink)
        }
        retry.reset()
    }

    private func readVoltages(_ device: ADS1x15Device, _ sink: ReadingSink, _ stop: StopSignal, _ retry: inout Backoff) throws(I2CError) {
        let interval = max(config.interval.nanoseconds, 1_000_000)
        var next = Clock.monotonicNanos()
        while SourcePacing.sleep(untilMonotonic: next, sink, stop) {
            let word = try device.convertOnce(name: config.bus, address: UInt8(config.address))
            let volts = config.chip.volts(fromConversion: word, range: registers.range)
            sink.reading(channel: 0, value: volts * config.scale + config.offset,
                         monoNanos: Clock.monotonicNanos(), wallNanos: Clock.wallNanos())
            reporter.update(pushingTo: sink) { $0.reads += 1 }
            delivered(sink, &retry)
            next += interval
            let now = Clock.monotonicNanos()
            if now >= next + interval { next = now }
        }
    }

    private func sampleSound(_ device: ADS1x15Device, _ sink: ReadingSink, _ stop: StopSignal, _ retry: inout Backoff) throws(I2CError) {
        try device.startContinuous()
        let rate = config.samplesPerSecond
        var meter = AnalogLevelMeter(samplesPerWindow: Int(config.window.nanoseconds * Int64(rate) / 1_000_000_000))
        let step = device.conversionNanos
        var next = Clock.monotonicNanos() + step
        var reads = 0, late = 0
        let idleEvery = max(rate / 4, 1)
        while !stop.isRaised {
            Clock.sleep(untilMonotonic: next)
            let word = try device.latest()
            reads += 1
            next += step
            let now = Clock.monotonicNanos()
            // More than ten sample times behind (a busy bus, a stalled thread): start the schedule over.
            if now > next + 10 * step { late += 1; next = now + step }
            // Time-driven work (summaries) goes on between long windows: idle four times a second.
            if reads % idleEvery == 0 { sink.idle(monoNanos: now, wallNanos: Clock.wallNanos()) }
            guard let w = meter.add(config.chip.volts(fromConversion: word, range: registers.range)) else { continue }
            sink.reading(channel: 0, value: w.levelDB(calibration: config.calibrationDB), monoNanos: now, wallNanos: Clock.wallNanos())
            sink.reading(channel: 1, value: w.peakToPeakVolts, monoNanos: now, wallNanos: Clock.wallNanos())
            reporter.update(pushingTo: sink) { $0.reads += reads; $0.late += late }
            reads = 0; late = 0
            delivered(sink, &retry)
        }
    }
}
