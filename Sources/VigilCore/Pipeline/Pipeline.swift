/// Receives the events of all pipelines: the uplink, a test, or `replay`.
public protocol EventSink: AnyObject, Sendable {
    func emit(_ event: Event)
    /// Several events at once, in order (a pipeline's burst): a sink may write them together.
    func emit(contentsOf events: [Event])
}

extension EventSink {
    public func emit(contentsOf events: [Event]) {
        for e in events { emit(e) }
    }
}

/// One source's channels through their detectors to events. Called only from the source's
/// thread, so it needs no lock; `reading` allocates nothing unless an event is born.
public final class Pipeline: ReadingSink, @unchecked Sendable {
    public let channels: [ChannelInfo]
    private let sink: EventSink
    private let summaryInterval: Int64
    /// The source's name (multivariate events are published under it).
    public let source: String
    private let hasMultivariate: Bool

    /// Everything that changes, behind a pointer (`OwnedState`), so a reading pays no run-time
    /// exclusivity checks; only the source's thread touches it.
    private let state: OwnedState<State>
    private struct State {
        var detectors: [ChannelDetector]
        var multivariate: MultivariateDetector?
        var readings = 0
        var nextSummaryMono: Int64?
        var nextHealthCheckMono: Int64 = .min
        /// Inside a source's burst (`beginBurst`…`endBurst`) events wait in `held`, to be handed to
        /// the sink together, in order, when it ends.
        var delivery = Delivery.direct
        var held: [Event] = []
        var sourceCounters: SourceCounters?
    }
    private enum Delivery { case direct, held }

    private var detectors: [ChannelDetector] { get { state.value.detectors } _modify { yield &state.value.detectors } }
    private var multivariate: MultivariateDetector? { get { state.value.multivariate } _modify { yield &state.value.multivariate } }
    private var nextSummaryMono: Int64? { get { state.value.nextSummaryMono } _modify { yield &state.value.nextSummaryMono } }
    private var nextHealthCheckMono: Int64 { get { state.value.nextHealthCheckMono } _modify { yield &state.value.nextHealthCheckMono } }
    private var delivery: Delivery { get { state.value.delivery } _modify { yield &state.value.delivery } }
    private var held: [Event] { get { state.value.held } _modify { yield &state.value.held } }
    /// Readings taken since start (read by other threads for reports: a plain load).
    public var readings: Int { state.value.readings }

    /// - Parameter multivariate: settings of a T² detector over all the source's channels
    ///   together, or nil for none.
    public init(channels: [ChannelInfo], settings: [DetectorSettings], summaryInterval: ConfigDuration, sink: EventSink,
                source: String = "", multivariate: DetectorSettings? = nil) {
        precondition(channels.count == settings.count)
        self.channels = channels
        self.summaryInterval = summaryInterval.nanoseconds
        self.sink = sink
        self.source = source
        var mv: MultivariateDetector?
        if let m = multivariate, channels.count >= 2 {
            mv = MultivariateDetector(settings: m, floors: settings.map(\.stdFloor))
        }
        hasMultivariate = mv != nil
        state = OwnedState(State(detectors: settings.map(ChannelDetector.init(settings:)), multivariate: mv))
    }

    deinit { state.free() }

    public func reading(channel: Int, value: Double, monoNanos: Int64, wallNanos: Int64) {
        state.value.readings &+= 1
        let v = detectors[channel].process(value, monoNanos: monoNanos, wallNanos: wallNanos)
        if let s = v.started { emit(.anomalyStart(channel: channels[channel], s)) }
        if let e = v.ended { emit(.anomalyEnd(channel: channels[channel], e)) }
        if !v.health.started.isEmpty || !v.health.ended.isEmpty { emitHealth(channel, v.health) }
        if hasMultivariate {
            let usable = v.state != .dropped && v.state != .unhealthy
            if let m = multivariate?.update(channel: channel, value: value, usable: usable, monoNanos: monoNanos, wallNanos: wallNanos) {
                if let s = m.started { emit(.multivariateStart(source: source, channels: channels, s)) }
                if let e = m.ended { emit(.multivariateEnd(source: source, e)) }
            }
        }
        idle(monoNanos: monoNanos, wallNanos: wallNanos)
    }

    private func emit(_ event: Event) {
        switch delivery {
        case .direct: sink.emit(event)
        case .held: held.append(event)
        }
    }

    public func beginBurst() { delivery = .held }

    public func endBurst() {
        delivery = .direct
        guard !held.isEmpty else { return }
        sink.emit(contentsOf: held)
        held.removeAll(keepingCapacity: true)
    }

    private func emitHealth(_ channel: Int, _ h: HealthVerdict) {
        let d = detectors[channel].health
        for c in HealthCheck.allCases {
            // A problem that starts and ends on one reading (a dropout ended by this reading) is
            // reported in that order.
            if h.started.contains(c) { emit(.healthStart(channel: channels[channel], d.lastStart(c))) }
            if h.ended.contains(c) { emit(.healthEnd(channel: channels[channel], d.lastEnd(c))) }
        }
    }

    /// The next summary, or the first moment a channel's dropout can start (checked at most every
    /// 250 ms); nothing else happens without a reading, so a source may sleep until then.
    public func nextIdleDeadline(monoNanos: Int64) -> Int64 {
        guard var due = nextSummaryMono else { return monoNanos }
        for i in detectors.indices {
            if let d = detectors[i].health.dropoutDueMono { due = min(due, max(d, nextHealthCheckMono)) }
        }
        return due
    }

    public func idle(monoNanos: Int64, wallNanos: Int64) {
        if monoNanos >= nextHealthCheckMono {
            // Dropouts are noticed without a reading; four times a second is soon enough.
            nextHealthCheckMono = monoNanos + 250_000_000
            for i in detectors.indices where detectors[i].checkIdle(monoNanos: monoNanos, wallNanos: wallNanos) {
                emit(.healthStart(channel: channels[i], detectors[i].health.lastStart(.dropout)))
            }
        }
        guard let next = nextSummaryMono else {
            nextSummaryMono = monoNanos + summaryInterval
            return
        }
        if monoNanos >= next {
            emitSummaries(wallNanos: wallNanos)
            // Skip intervals missed while suspended rather than bursting them out.
            nextSummaryMono = next + summaryInterval * max(1, (monoNanos - next) / summaryInterval + 1)
        }
    }

    /// The source's counters as it last pushed them, attached to every summary and health event
    /// (nil for sources that keep none).
    public private(set) var sourceCounters: SourceCounters? {
        get { state.value.sourceCounters }
        _modify { yield &state.value.sourceCounters }
        set { state.value.sourceCounters = newValue }
    }

    public func counters(_ c: SourceCounters) {
        // The values are copied into storage of our own: keeping the source's buffer would make its
        // next change copy it, an allocation per change.
        if let mine = sourceCounters, mine.source == c.source, mine.counts.count == c.counts.count {
            for i in c.counts.indices { sourceCounters?.counts[i].value = c.counts[i].value }
        } else {
            sourceCounters = SourceCounters(source: c.source, counts: c.counts.map { $0 })
        }
    }

    /// A source's device went down or came back: a health event carrying the counters of this moment.
    public func sourceState(up: Bool, device: String, reason: String, wallNanos: Int64) {
        emit(.sourceHealth(source: source, SourceHealth(up: up, device: device, reason: reason, wallNanos: wallNanos,
                                                             counters: sourceCounters ?? SourceCounters(source: source))))
    }

    private func emitSummaries(wallNanos: Int64) {
        let counters = sourceCounters
        for i in detectors.indices {
            var summary = detectors[i].takeSummary(endingAt: wallNanos)
            summary.sourceCounters = counters
            emit(.summary(channel: channels[i], summary))
        }
    }

    /// At shutdown: ends open episodes (reason `shutdown`) and sends the partial summaries.
    public func finish(wallNanos: Int64) {
        endBurst()
        for i in detectors.indices {
            if let e = detectors[i].closeForShutdown(wallNanos: wallNanos) { emit(.anomalyEnd(channel: channels[i], e)) }
            let ended = detectors[i].closeHealthForShutdown(wallNanos: wallNanos)
            for c in HealthCheck.allCases where ended.contains(c) {
                emit(.healthEnd(channel: channels[i], detectors[i].health.lastEnd(c)))
            }
        }
        if let e = multivariate?.closeForShutdown(wallNanos: wallNanos) { emit(.multivariateEnd(source: source, e)) }
        if nextSummaryMono != nil { emitSummaries(wallNanos: wallNanos) }
    }
}
