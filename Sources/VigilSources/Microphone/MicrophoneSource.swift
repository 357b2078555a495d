import VigilCore

/// What a `microphone` source has seen since it was built; a snapshot, safe to take from any thread.
public struct MicrophoneCounters: Sendable, Equatable, PublishedCounters {
    /// Periods read (each `period` of audio).
    public var periods = 0
    /// Overruns: the capture buffer filled before it was read, and samples were lost.
    public var xruns = 0
    /// Opens and reads that failed (no such device, unplugged, unsupported rate).
    public var errors = 0
    /// Samples at full scale: the input clipped and the level reads low.
    public var clipped = 0

    public init() {}

    public func publish(into w: inout CountWriter) {
        w("periods", periods); w("xruns", xruns); w("errors", errors); w("clipped", clipped)
    }
}

/// `kind: microphone` — a sound level per window from an ALSA capture device (see
/// `MicrophoneSourceConfig`).
///
/// It opens the device, reads one `period` per call into a buffer allocated once per open, and
/// feeds the samples to a `SoundLevelMeter`; every `window` of frames it delivers `level_db` (RMS,
/// weighted, dBFS plus `calibration_db`), `peak_db` (dBFS) and any octave bands' levels, all with the time the window's last
/// period arrived. An overrun is counted and capture goes on; a failed open or read (the card
/// unplugged) is counted, reported down once and retried after a back-off from 1 s doubling to
/// 30 s; the first period read after it reports up. Nothing allocates per period.
public final class MicrophoneSource: Source, DeviceStateReporting, @unchecked Sendable {
    public typealias OpenCapture = @Sendable () throws(ALSAError) -> CaptureDevice

    public let name: String
    public let channels: [ChannelInfo]
    let config: MicrophoneSourceConfig
    private let log: SourceLogger
    private let openCapture: OpenCapture
    private let reporter: SourceReporter<MicrophoneCounters>
    /// How long a read waits for a period before looking at the stop flag.
    static let waitMillis: Int32 = 250

    public convenience init(config: MicrophoneSourceConfig, log: @escaping SourceLogger = { _, _ in }) throws(SourceConfigError) {
        let issues = config.validate()
        if !issues.isEmpty { throw SourceConfigError(issues: issues) }
        let (device, rate, count, frames) = (config.device, config.rate, config.channels, config.periodFrames)
        self.init(unvalidated: config, log: log) { () throws(ALSAError) in
            try ALSACapture(device: device, rate: rate, channels: count, periodFrames: frames)
        }
    }

    /// Without the config checks and with the capture device to use: for tests.
    init(unvalidated config: MicrophoneSourceConfig, log: @escaping SourceLogger = { _, _ in }, openCapture: @escaping OpenCapture) {
        self.config = config
        name = config.name
        channels = [ChannelInfo(name: config.names.level, unit: "dB"), ChannelInfo(name: config.names.peak, unit: "dBFS")]
            + config.bands.map { ChannelInfo(name: config.bandChannel($0), unit: "dBFS") }
        self.log = log
        self.openCapture = openCapture
        reporter = SourceReporter(source: config.name, MicrophoneCounters())
    }

    public var counters: MicrophoneCounters { reporter.counters }

    /// `plughw:CARD=Device,DEV=0`
    public var portDescription: String { config.device }

    public func run(into sink: ReadingSink, until stop: StopSignal) {
        var retry = Backoff(min: 1_000_000_000, max: 30_000_000_000)
        var meter = SoundLevelMeter(rate: config.rate, channels: config.channels,
                                    framesPerWindow: config.windowFrames, weighting: config.weighting, bands: config.bands)
        let frames = max(config.periodFrames, 1)
        let buffer = UnsafeMutablePointer<Int16>.allocate(capacity: frames * config.channels)
        buffer.initialize(repeating: 0, count: frames * config.channels)
        defer { buffer.deallocate() }
        let calibration = config.calibrationDB
        var capture: CaptureDevice?
        reporter.push(to: sink)
        while !stop.isRaised {
            let device: CaptureDevice
            if let open = capture {
                device = open
            } else {
                do throws(ALSAError) {
                    device = try openCapture()
                } catch {
                    fail(error, sink, &retry, stop)
                    continue
                }
                capture = device
            }
            switch device.read(into: buffer, frames: frames, timeoutMillis: Self.waitMillis) {
            case .frames(let n):
                guard n > 0 else { continue }
                var clipped = 0, windows = 0
                meter.add(UnsafeBufferPointer(start: buffer, count: n * config.channels)) { w, bands in
                    let mono = Clock.monotonicNanos(), wall = Clock.wallNanos()
                    sink.reading(channel: 0, value: w.levelDBFS + calibration, monoNanos: mono, wallNanos: wall)
                    sink.reading(channel: 1, value: w.peakDBFS, monoNanos: mono, wallNanos: wall)
                    for (i, level) in bands.enumerated() { sink.reading(channel: 2 + i, value: level, monoNanos: mono, wallNanos: wall) }
                    clipped += w.clippedSamples
                    windows += 1
                }
                // The counters travel with the windows, not with every period (ten times a second).
                reporter.update { $0.periods += 1; $0.clipped += clipped }
                if windows > 0 { reporter.push(to: sink) }
                if reporter.lastState != true {
                    log(.info, "microphone \(name): capturing \(config.device) at \(config.rate) Hz")
                    reporter.report(up: true, device: portDescription, reason: "capturing at \(config.rate) Hz", to: sink)
                }
                retry.reset()
            case .timedOut:
                break
            case .overrun:
                reporter.update(pushingTo: sink) { $0.xruns += 1 }
            case .failed(let error):
                capture = nil
                fail(error, sink, &retry, stop)
                continue
            }
            sink.idle(monoNanos: Clock.monotonicNanos(), wallNanos: Clock.wallNanos())
        }
    }

    /// Counts the failure, reports down once (logging it), and waits the back-off.
    private func fail(_ error: ALSAError, _ sink: ReadingSink, _ retry: inout Backoff, _ stop: StopSignal) {
        reporter.update(pushingTo: sink) { $0.errors += 1 }
        let delay = retry.next()
        reporter.reportRetrying(device: portDescription, reason: error.description, delay: delay,
                                source: "microphone \(name)", log: log, to: sink)
        SourcePacing.sleep(untilMonotonic: Clock.monotonicNanos() + delay, sink, stop)
    }
}
