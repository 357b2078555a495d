/// Receives the events of all pipelines: the uplink, a test, or `replay`.
public protocol EventSink: AnyObject, Sendable {
    func emit(_ event: Event)
}

/// One source's channels through their detectors to events. Called only from the source's
/// thread, so it needs no lock; `reading` allocates nothing unless an event is born.
public final class Pipeline: ReadingSink, @unchecked Sendable {
    public let channels: [ChannelInfo]
    private var detectors: [ChannelDetector]
    private let sink: EventSink
    private let summaryInterval: Int64
    private var nextSummaryMono: Int64?
    public private(set) var readings = 0
    /// The source's name (multivariate events are published under it).
    public let source: String
    private var multivariate: MultivariateDetector?
    private var nextHealthCheckMono: Int64 = .min

    /// - Parameter multivariate: settings of a T² detector over all the source's channels
    ///   together, or nil for none.
    public init(channels: [ChannelInfo], settings: [DetectorSettings], summaryInterval: ConfigDuration, sink: EventSink,
                source: String = "", multivariate: DetectorSettings? = nil) {
        precondition(channels.count == settings.count)
        self.channels = channels
        self.detectors = settings.map(ChannelDetector.init(settings:))
        self.summaryInterval = summaryInterval.nanoseconds
        self.sink = sink
        self.source = source
        if let m = multivariate, channels.count >= 2 {
            self.multivariate = MultivariateDetector(settings: m, floors: settings.map(\.stdFloor))
        }
    }

    public func reading(channel: Int, value: Double, monoNanos: Int64, wallNanos: Int64) {
        readings &+= 1
        let v = detectors[channel].process(value, monoNanos: monoNanos, wallNanos: wallNanos)
        if let s = v.started { sink.emit(.anomalyStart(channel: channels[channel], s)) }
        if let e = v.ended { sink.emit(.anomalyEnd(channel: channels[channel], e)) }
        if !v.health.started.isEmpty || !v.health.ended.isEmpty { emitHealth(channel, v.health) }
        if multivariate != nil {
            let usable = v.state != .dropped && v.state != .unhealthy
            if let m = multivariate?.update(channel: channel, value: value, usable: usable, monoNanos: monoNanos, wallNanos: wallNanos) {
                if let s = m.started { sink.emit(.multivariateStart(source: source, channels: channels, s)) }
                if let e = m.ended { sink.emit(.multivariateEnd(source: source, e)) }
            }
        }
        idle(monoNanos: monoNanos, wallNanos: wallNanos)
    }

    private func emitHealth(_ channel: Int, _ h: HealthVerdict) {
        let d = detectors[channel].health
        for c in HealthCheck.allCases {
            // A problem that starts and ends on one reading (a dropout ended by this reading) is
            // reported in that order.
            if h.started.contains(c) { sink.emit(.healthStart(channel: channels[channel], d.lastStart(c))) }
            if h.ended.contains(c) { sink.emit(.healthEnd(channel: channels[channel], d.lastEnd(c))) }
        }
    }

    public func idle(monoNanos: Int64, wallNanos: Int64) {
        if monoNanos >= nextHealthCheckMono {
            // Dropouts are noticed without a reading; four times a second is soon enough.
            nextHealthCheckMono = monoNanos + 250_000_000
            for i in detectors.indices where detectors[i].checkIdle(monoNanos: monoNanos, wallNanos: wallNanos) {
                sink.emit(.healthStart(channel: channels[i], detectors[i].health.lastStart(.dropout)))
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
    public private(set) var sourceCounters: SourceCounters?

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
        sink.emit(.sourceHealth(source: source, SourceHealth(up: up, device: device, reason: reason, wallNanos: wallNanos,
                                                             counters: sourceCounters ?? SourceCounters(source: source))))
    }

    private func emitSummaries(wallNanos: Int64) {
        let counters = sourceCounters
        for i in detectors.indices {
            var summary = detectors[i].takeSummary(endingAt: wallNanos)
            summary.sourceCounters = counters
            sink.emit(.summary(channel: channels[i], summary))
        }
    }

    /// At shutdown: ends open episodes (reason `shutdown`) and sends the partial summaries.
    public func finish(wallNanos: Int64) {
        for i in detectors.indices {
            if let e = detectors[i].closeForShutdown(wallNanos: wallNanos) { sink.emit(.anomalyEnd(channel: channels[i], e)) }
            let ended = detectors[i].closeHealthForShutdown(wallNanos: wallNanos)
            for c in HealthCheck.allCases where ended.contains(c) {
                sink.emit(.healthEnd(channel: channels[i], detectors[i].health.lastEnd(c)))
            }
        }
        if let e = multivariate?.closeForShutdown(wallNanos: wallNanos) { sink.emit(.multivariateEnd(source: source, e)) }
        if nextSummaryMono != nil { emitSummaries(wallNanos: wallNanos) }
    }
}
