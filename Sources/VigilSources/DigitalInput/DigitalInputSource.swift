import CGPIOD
import Synchronization
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// What a digital-input source has seen since it was built.
public struct DigitalInputCounters: Sendable, Equatable {
    /// Edge events the kernel delivered.
    public var edges = 0
    /// Edges that repeated the level before them (an edge lost or merged in between).
    public var repeatedEdges = 0
    public var windows = 0
    public var gpioErrors = 0
}

extension DigitalInputCounters: PublishedCounters {
    public func publish(into w: inout CountWriter) {
        w("gpio_edges", edges); w("gpio_repeated_edges", repeatedEdges); w("gpio_windows", windows); w("gpio_errors", gpioErrors)
    }
}

/// `kind: gpio` — digital inputs on one gpiochip, each requested for both-edge events (bias as
/// configured, as-is by default). One thread polls every line's event descriptor; edges feed a
/// `DigitalInputTracker` per input with their kernel timestamps, and at the end of each window every
/// input delivers its channels: active-going edges and duty (activity inputs), or the state (level).
public final class DigitalInputSource: Source, DeviceStateReporting {
    public let name: String
    public let channels: [ChannelInfo]
    public let config: DigitalInputsSourceConfig
    public let chipName: String
    let board: Board?
    private let log: SourceLogger
    private let reporter: SourceReporter<DigitalInputCounters>

    public init(config: DigitalInputsSourceConfig, chip: String, board: Board? = nil,
                log: @escaping SourceLogger = { _, _ in }) throws(SourceConfigError) {
        let issues = config.validate()
        if !issues.isEmpty { throw SourceConfigError(issues: issues) }
        self.config = config
        chipName = chip
        self.board = board
        name = config.name
        channels = config.inputs.flatMap { input -> [ChannelInfo] in
            var c: [ChannelInfo] = []
            if let e = input.edgesChannel { c.append(ChannelInfo(name: e, unit: "edges")) }
            if let d = input.dutyChannel { c.append(ChannelInfo(name: d, unit: "ratio")) }
            if let l = input.levelChannel { c.append(ChannelInfo(name: l, unit: "state")) }
            return c
        }
        self.log = log
        reporter = SourceReporter(source: config.name, DigitalInputCounters())
    }

    public var counters: DigitalInputCounters { reporter.counters }
    /// `pinctrl-bcm2711 lines 17,27`
    public var portDescription: String { "\(chipName) lines \(config.inputs.map { String($0.line) }.joined(separator: ","))" }

    private func report(up: Bool, _ reason: String, _ sink: ReadingSink) {
        if up { log(.info, "\(portDescription): \(reason)") } else { log(.warning, "\(portDescription): \(reason)") }
        reporter.report(up: up, device: portDescription, reason: reason, to: sink)
    }

    /// The requested lines with their trackers.
    private struct Requested {
        var chip: GPIOChip
        var lines: [GPIOLine]
        var trackers: [DigitalInputTracker]
    }

    public func run(into sink: ReadingSink, until stop: StopSignal) {
        let window = config.window.nanoseconds
        var reopen = Backoff(min: 1_000_000_000, max: 30_000_000_000)
        var wasDown = false
        reporter.push(to: sink)
        let events = UnsafeMutableBufferPointer<gpiod_line_event>.allocate(capacity: 16)
        defer { events.deallocate() }

        while !stop.isRaised {
            let requested: Requested
            do {
                requested = try request(start: Clock.monotonicNanos())
            } catch {
                reporter.update(pushingTo: sink) { $0.gpioErrors += 1 }
                if !wasDown { report(up: false, error.description, sink) }
                wasDown = true
                SourcePacing.sleep(untilMonotonic: Clock.monotonicNanos() + reopen.next(), sink, stop)
                continue
            }
            reopen.reset()
            wasDown = false
            report(up: true, "requested for edge events", sink)
            if let error = monitor(requested, window: window, events: events, into: sink, until: stop) {
                reporter.update(pushingTo: sink) { $0.gpioErrors += 1 }
                report(up: false, error.description, sink)
                wasDown = true
            }
            for l in requested.lines { l.release() }
        }
    }

    private func request(start: Int64) throws(GPIOError) -> Requested {
        let chip = try GPIOChip(chipName)
        var lines: [GPIOLine] = []
        var trackers: [DigitalInputTracker] = []
        do throws(GPIOError) {
            for input in config.inputs {
                if let board, chip.label == board.headerChip.label, let problem = board.problem(line: input.line) {
                    throw GPIOError(call: "board check", chip: chipName, line: input.line, errno: EINVAL, hint: problem)
                }
                let line = try chip.line(input.line)
                try line.request(.bothEdges, consumer: "vigil", bias: input.bias, activeLow: input.activeLow)
                lines.append(line)
                trackers.append(DigitalInputTracker(active: try line.value() == 1, at: start, debounce: input.debounce.nanoseconds))
            }
        } catch {
            for l in lines { l.release() }
            throw error
        }
        return Requested(chip: chip, lines: lines, trackers: trackers)
    }

    /// Polls the lines until stopped (nil) or a GPIO call fails (the error).
    private func monitor(_ r: Requested, window: Int64, events: UnsafeMutableBufferPointer<gpiod_line_event>,
                         into sink: ReadingSink, until stop: StopSignal) -> GPIOError? {
        var trackers = r.trackers
        var fds = r.lines.map { pollfd(fd: $0.eventDescriptor, events: Int16(POLLIN), revents: 0) }
        var closed = [DigitalInputTracker.Window?](repeating: nil, count: trackers.count)
        var windowEnd = trackers.first.map { $0.windowStart + window } ?? Clock.monotonicNanos() + window
        // Kernels before 5.7 stamp v1 events with CLOCK_REALTIME; their offset to monotonic.
        var stampOffset: Int64?

        func drain(_ i: Int) throws(GPIOError) {
            let n = try r.lines[i].readEvents(into: events)
            var repeated = trackers[i].repeatedEdges
            for k in 0..<n {
                let e = events[k]
                if stampOffset == nil {
                    let mono = Clock.monotonicNanos()
                    stampOffset = abs(e.nanos - mono) > 60_000_000_000 ? mono - Clock.wallNanos() : 0
                }
                let t = e.nanos + stampOffset!
                if t >= windowEnd && closed[i] == nil { closed[i] = trackers[i].closeWindow(at: windowEnd) }
                trackers[i].edge(active: e.isRising, at: t)
            }
            repeated = trackers[i].repeatedEdges - repeated
            reporter.update(pushingTo: sink) { $0.edges += n; $0.repeatedEdges += repeated }
        }

        while !stop.isRaised {
            let now = Clock.monotonicNanos()
            let timeout = max(0, min(windowEnd - now, 250_000_000))
            let rc = poll(&fds, nfds_t(fds.count), Int32((timeout + 999_999) / 1_000_000))
            if rc < 0 && errno != EINTR {
                return GPIOError(call: "poll", chip: chipName, errno: errno)
            }
            do throws(GPIOError) {
                if rc > 0 {
                    for i in fds.indices where fds[i].revents != 0 {
                        if fds[i].revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                            throw GPIOError(call: "poll", chip: chipName, line: config.inputs[i].line, errno: ENODEV)
                        }
                        try drain(i)
                    }
                }
                let after = Clock.monotonicNanos()
                if after >= windowEnd {
                    // Edges stamped before the end may still be queued: take them first.
                    var pending = fds
                    while poll(&pending, nfds_t(pending.count), 0) > 0 {
                        var any = false
                        for i in pending.indices where pending[i].revents & Int16(POLLIN) != 0 { try drain(i); any = true }
                        if !any { break }
                    }
                    deliver(&trackers, &closed, windowEnd: windowEnd, now: after, into: sink)
                    windowEnd += window
                    if windowEnd <= after { windowEnd = after + window }
                } else {
                    sink.idle(monoNanos: after, wallNanos: Clock.wallNanos())
                }
            } catch {
                return error
            }
        }
        return nil
    }

    private func deliver(_ trackers: inout [DigitalInputTracker], _ closed: inout [DigitalInputTracker.Window?],
                         windowEnd: Int64, now: Int64, into sink: ReadingSink) {
        let wall = Clock.wallNanos() - (now - windowEnd)
        var channel = 0
        for (i, input) in config.inputs.enumerated() {
            let w = closed[i] ?? trackers[i].closeWindow(at: windowEnd)
            closed[i] = nil
            if input.edgesChannel != nil { sink.reading(channel: channel, value: Double(w.activeEdges), monoNanos: windowEnd, wallNanos: wall); channel += 1 }
            if input.dutyChannel != nil { sink.reading(channel: channel, value: w.duty, monoNanos: windowEnd, wallNanos: wall); channel += 1 }
            if input.levelChannel != nil { sink.reading(channel: channel, value: w.active ? 1 : 0, monoNanos: windowEnd, wallNanos: wall); channel += 1 }
        }
        reporter.update(pushingTo: sink) { $0.windows += 1 }
    }
}
