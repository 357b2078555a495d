import CGPIOD
import Synchronization
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// What a DHT source has seen since it was built; a snapshot, safe to take from any thread.
public struct DHTCounters: Sendable, Equatable {
    /// Read attempts (start pulses sent).
    public var reads = 0
    /// Reads that gave a checked reading.
    public var good = 0
    public var timeout = 0
    public var shortFrame = 0
    public var checksum = 0
    public var implausible = 0
    /// The chip could not be opened or the line requested (busy, permissions, gone).
    public var gpioErrors = 0

    public mutating func count(_ f: DHTFailure) {
        switch f {
        case .timeout: timeout += 1
        case .shortFrame: shortFrame += 1
        case .checksum: checksum += 1
        case .implausible: implausible += 1
        }
    }
}

extension DHTCounters: PublishedCounters {
    public func publish(into w: inout CountWriter) {
        w("dht_reads", reads); w("dht_good", good); w("dht_timeout", timeout); w("dht_short_frame", shortFrame)
        w("dht_checksum", checksum); w("dht_implausible", implausible); w("gpio_errors", gpioErrors)
    }
}

extension DHTFailure {
    /// For logs and `source_down` reasons: what it means and what to check.
    public var explanation: String {
        switch self {
        case .timeout: return "no answer from the sensor (check power, the data wire and the 4.7-10 kΩ pull-up)"
        case .shortFrame: return "the answer broke off (edges lost: long wires, a busy CPU)"
        case .checksum: return "checksum mismatch (noise on the data wire)"
        case .implausible: return "values outside the sensor's range (a failing or fake sensor)"
        }
    }
}

/// `kind: dht` — reads a DHT11/DHT22/AM2302 on one GPIO line: drives the line low for the start
/// pulse (1.1 ms, 18 ms for a DHT11), releases it, requests both-edge events and collects the
/// kernel-timestamped edges of the answer (reading them as they come: a v1 request buffers only 16),
/// then decodes them with `DHTDecoder`. A read delivers temperature and humidity together, or
/// nothing: failures are counted by kind and retried per `DHTReadScheduler`.
public final class DHTSource: Source, DeviceStateReporting {
    public let name: String
    public let channels: [ChannelInfo]
    public let config: DHTSourceConfig
    /// The chip as resolved at build time (the config's, or the board's header chip label).
    public let chipName: String
    let model: DHTModel
    /// Checks the line once the chip's label is known (a chip named by path or number).
    let board: Board?
    private let log: SourceLogger
    private let reporter: SourceReporter<DHTCounters>

    /// The request's owner as `gpioinfo` shows it.
    static let consumer = "vigil"
    /// How long to wait for the answer to start, and for the next edge once it has.
    static let answerDeadlineNanos: Int64 = 25_000_000
    static let edgeGapNanos: Int64 = 3_000_000
    static let firstReadDelayNanos: Int64 = 2_000_000_000

    public init(config: DHTSourceConfig, chip: String, board: Board? = nil, log: @escaping SourceLogger = { _, _ in }) throws(SourceConfigError) {
        let issues = config.validate()
        if !issues.isEmpty { throw SourceConfigError(issues: issues) }
        self.config = config
        self.chipName = chip
        self.board = board
        name = config.name
        model = config.model == .dht11 ? .dht11 : .dht22
        channels = [ChannelInfo(name: config.temperatureChannel, unit: "°C"), ChannelInfo(name: config.humidityChannel, unit: "%RH")]
        self.log = log
        reporter = SourceReporter(source: config.name, DHTCounters())
    }

    public var counters: DHTCounters { reporter.counters }
    /// `pinctrl-bcm2711 line 4`
    public var portDescription: String { "\(chipName) line \(config.line)" }

    private func report(up: Bool, _ reason: String, _ sink: ReadingSink) {
        if up { log(.info, "\(portDescription): sensor answering: \(reason)") } else { log(.warning, "\(portDescription): \(reason)") }
        reporter.report(up: up, device: portDescription, reason: reason, to: sink)
    }

    public func run(into sink: ReadingSink, until stop: StopSignal) {
        var chip: GPIOChip?
        // The first read waits out the sensor's power-up (1-2 s) and the agent's own start.
        var schedule = DHTReadScheduler(interval: config.interval.nanoseconds, retries: config.retries,
                                        start: Clock.monotonicNanos() + Self.firstReadDelayNanos)
        var realtime = RealtimeCapture()
        var reopen = Backoff(min: 1_000_000_000, max: 30_000_000_000)
        var gpioDown = false
        reporter.push(to: sink)
        var edges: [DHTEdge] = []
        edges.reserveCapacity(128)
        let events = UnsafeMutableBufferPointer<gpiod_line_event>.allocate(capacity: 16)
        defer { events.deallocate() }

        while !stop.isRaised {
            // Wait in short slices so a stop is seen and summaries keep their time.
            let now = Clock.monotonicNanos()
            if now < schedule.nextRead {
                Clock.sleep(untilMonotonic: min(schedule.nextRead, now + 250_000_000))
                sink.idle(monoNanos: Clock.monotonicNanos(), wallNanos: Clock.wallNanos())
                continue
            }
            do throws(GPIOError) {
                if chip == nil { chip = try openChip() }
                let started = Clock.monotonicNanos()
                reporter.update(pushingTo: sink) { $0.reads += 1 }
                realtime.enter()
                do { try capture(on: chip!, into: &edges, events: events) } catch { realtime.leave(); throw error }
                realtime.leave()
                reopen.reset()
                switch DHTDecoder.decode(edges, model: model) {
                case .success(let r):
                    let mono = Clock.monotonicNanos(), wall = Clock.wallNanos()
                    sink.reading(channel: 0, value: r.temperature, monoNanos: mono, wallNanos: wall)
                    sink.reading(channel: 1, value: r.humidity, monoNanos: mono, wallNanos: wall)
                    reporter.update(pushingTo: sink) { $0.good += 1 }
                    if schedule.record(success: true, startedAt: started) == .up || gpioDown {
                        gpioDown = false
                        report(up: true, "\(r.temperature) °C, \(r.humidity) %RH", sink)
                    }
                case .failure(let f):
                    reporter.update(pushingTo: sink) { $0.count(f) }
                    log(.debug, "\(portDescription): read failed: \(f.rawValue) (\(edges.count) edges)")
                    if schedule.record(success: false, startedAt: started) == .down {
                        let n = schedule.failuresInARow
                        report(up: false, "\(n) read\(n == 1 ? "" : "s") in a row failed, the last: \(f.rawValue): \(f.explanation)", sink)
                    }
                }
            } catch {
                reporter.update(pushingTo: sink) { $0.gpioErrors += 1 }
                chip = nil
                if !gpioDown { report(up: false, error.description, sink) }
                gpioDown = true
                schedule.postpone(until: Clock.monotonicNanos() + reopen.next())
            }
        }
    }

    private func openChip() throws(GPIOError) -> GPIOChip {
        let chip = try GPIOChip(chipName)
        if let board, chip.label == board.headerChip.label, let problem = board.problem(line: config.line) {
            throw GPIOError(call: "board check", chip: chipName, line: config.line, errno: EINVAL, hint: problem)
        }
        return chip
    }

    /// One read: start pulse, then the edges of the answer in `edges` (the decoder copes with a
    /// missed preamble, repeated or merged edge types).
    private func capture(on chip: GPIOChip, into edges: inout [DHTEdge],
                         events: UnsafeMutableBufferPointer<gpiod_line_event>) throws(GPIOError) {
        edges.removeAll(keepingCapacity: true)
        let line = try chip.line(config.line)
        try line.request(.output(initial: 0), consumer: Self.consumer, bias: config.bias)
        Clock.sleep(untilMonotonic: Clock.monotonicNanos() + (model == .dht11 ? 18_000_000 : 1_100_000))
        line.release()
        // The line floats high through the pull-up; the sensor answers 20-40 µs later.
        try line.request(.bothEdges, consumer: Self.consumer, bias: config.bias)
        defer { line.release() }
        let deadline = Clock.monotonicNanos() + Self.answerDeadlineNanos
        while edges.count < 200 {
            let now = Clock.monotonicNanos()
            let wait = edges.isEmpty ? deadline - now : Self.edgeGapNanos
            if wait <= 0 { break }
            guard try line.waitForEvent(timeoutNanos: wait) else { break }
            let n = try line.readEvents(into: events)
            for i in 0..<n { edges.append(DHTEdge(nanos: events[i].nanos, rising: events[i].isRising)) }
            if Clock.monotonicNanos() > deadline + Self.answerDeadlineNanos { break }
        }
    }
}

/// SCHED_FIFO for the few milliseconds of a capture, where the process may (root, CAP_SYS_NICE or
/// RLIMIT_RTPRIO): the answer's edges must be read as they come, and a busy CPU otherwise delays the
/// reader past the 16 events a request buffers. The shipped systemd unit forbids realtime
/// (RestrictRealtime=yes), so there the first refusal turns the attempts off and retries cover losses.
struct RealtimeCapture {
    private var allowed = true
    private var raised = false

    mutating func enter() {
        guard allowed else { return }
        var param = sched_param()
        param.sched_priority = 10
        if pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0 { raised = true } else { allowed = false }
    }

    mutating func leave() {
        guard raised else { return }
        var param = sched_param()
        param.sched_priority = 0
        pthread_setschedparam(pthread_self(), SCHED_OTHER, &param)
        raised = false
    }
}
