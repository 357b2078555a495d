import VigilCore
import VigilSources

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

    public init(channels: [ChannelInfo], settings: [DetectorSettings], summaryInterval: ConfigDuration, sink: EventSink) {
        precondition(channels.count == settings.count)
        self.channels = channels
        self.detectors = settings.map(ChannelDetector.init(settings:))
        self.summaryInterval = summaryInterval.nanoseconds
        self.sink = sink
    }

    public func reading(channel: Int, value: Double, monoNanos: Int64, wallNanos: Int64) {
        readings &+= 1
        let v = detectors[channel].process(value, monoNanos: monoNanos, wallNanos: wallNanos)
        if let s = v.started { sink.emit(.anomalyStart(channel: channels[channel], s)) }
        if let e = v.ended { sink.emit(.anomalyEnd(channel: channels[channel], e)) }
        idle(monoNanos: monoNanos, wallNanos: wallNanos)
    }

    public func idle(monoNanos: Int64, wallNanos: Int64) {
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

    private func emitSummaries(wallNanos: Int64) {
        for i in detectors.indices {
            sink.emit(.summary(channel: channels[i], detectors[i].takeSummary(endingAt: wallNanos)))
        }
    }

    /// At shutdown: ends open episodes (reason `shutdown`) and sends the partial summaries.
    public func finish(wallNanos: Int64) {
        for i in detectors.indices {
            if let e = detectors[i].closeForShutdown(wallNanos: wallNanos) { sink.emit(.anomalyEnd(channel: channels[i], e)) }
        }
        if nextSummaryMono != nil { emitSummaries(wallNanos: wallNanos) }
    }
}
