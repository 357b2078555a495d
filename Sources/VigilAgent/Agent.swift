import Logging
import Synchronization
import VigilCore
import VigilSources
#if canImport(Glibc)
import Glibc
#endif

/// Where encoded messages go: the MQTT uplink, or a test's collector.
public protocol MessageSink: AnyObject, Sendable {
    /// Must not block: called from source threads.
    func enqueue(_ message: OutboundMessage)
    /// Several at once, in order (one outbox write).
    func enqueue(contentsOf messages: [OutboundMessage])
}

extension MessageSink {
    public func enqueue(contentsOf messages: [OutboundMessage]) {
        for m in messages { enqueue(m) }
    }
}

/// Numbers events (one sequence per device, surviving restarts: see `SequenceNumbers`), encodes them
/// and hands them to the uplink, whose outbox has written them (and synced them, per its policy) when
/// `enqueue` returns.
public final class EventPublisher: EventSink, Sendable {
    /// Makes every payload this publisher sends.
    public let encoder: any PayloadEncoder
    private let sink: MessageSink
    public let sequence: SequenceNumbers
    private let logger: Logger

    public convenience init(encoder: any PayloadEncoder, sink: MessageSink, firstSeq: UInt64 = 1, logger: Logger) {
        self.init(encoder: encoder, sink: sink, sequence: SequenceNumbers(startingAt: firstSeq), logger: logger)
    }

    public init(encoder: any PayloadEncoder, sink: MessageSink, sequence: SequenceNumbers, logger: Logger) {
        self.encoder = encoder
        self.sink = sink
        self.sequence = sequence
        self.logger = logger
    }

    /// The last sequence number handed out (0 before the first).
    public var lastSeq: UInt64 { sequence.last }
    /// Events and other messages published in this run.
    public var published: Int { sequence.issued }

    public func emit(_ event: Event) {
        let seq = sequence.next()
        let message = encoder.encode(event, seq: seq)
        sink.enqueue(message)
        // Logged once the outbox holds it: a logged seq is never lost.
        log(event, seq: seq)
    }

    /// A pipeline's burst: numbered in order, written to the outbox together, then logged.
    public func emit(contentsOf events: [Event]) {
        guard events.count > 1 else {
            if let e = events.first { emit(e) }
            return
        }
        let seqs = events.map { _ in sequence.next() }
        sink.enqueue(contentsOf: events.indices.map { encoder.encode(events[$0], seq: seqs[$0]) })
        for i in events.indices { log(events[i], seq: seqs[i]) }
    }

    private func log(_ event: Event, seq: UInt64) {
        switch event {
        case .anomalyStart(let c, let s):
            logger.notice("anomaly started", metadata: ["channel": "\(c.name)", "episode": "\(s.id)", "value": "\(s.value)", "z": "\(JSONWriter.rounded(s.z, places: 2))", "seq": "\(seq)"])
        case .anomalyEnd(let c, let e):
            logger.notice("anomaly ended", metadata: ["channel": "\(c.name)", "episode": "\(e.id)", "duration_ms": "\(e.durationNanos / 1_000_000)", "peak_z": "\(JSONWriter.rounded(e.peakZ, places: 2))", "reason": "\(e.reason.rawValue)", "seq": "\(seq)"])
        case .summary(let c, let s):
            logger.debug("summary", metadata: ["channel": "\(c.name)", "count": "\(s.count)", "anomalies": "\(s.anomalies)", "seq": "\(seq)"])
        case .healthStart(let c, let h):
            logger.warning("sensor health problem", metadata: ["channel": "\(c.name)", "check": "\(h.check.name)", "value": "\(h.value)", "seq": "\(seq)"])
        case .healthEnd(let c, let h):
            logger.notice("sensor health recovered", metadata: ["channel": "\(c.name)", "check": "\(h.check.name)", "duration_ms": "\(h.durationNanos / 1_000_000)", "readings": "\(h.readings)", "seq": "\(seq)"])
        case .multivariateStart(let source, _, let s):
            logger.notice("multivariate anomaly started", metadata: ["source": "\(source)", "episode": "\(s.id)", "t2": "\(JSONWriter.rounded(s.t2, places: 2))", "seq": "\(seq)"])
        case .sourceHealth(let source, let h):
            if h.up { logger.notice("source up", metadata: ["source": "\(source)", "path": "\(h.device)", "reconnects": "\(h.counters["reconnects"])", "seq": "\(seq)"]) }
            else { logger.warning("source down", metadata: ["source": "\(source)", "path": "\(h.device)", "reason": "\(h.reason)", "seq": "\(seq)"]) }
        case .multivariateEnd(let source, let e):
            logger.notice("multivariate anomaly ended", metadata: ["source": "\(source)", "episode": "\(e.id)", "duration_ms": "\(e.durationNanos / 1_000_000)", "reason": "\(e.reason.rawValue)", "seq": "\(seq)"])
        }
    }

    /// Numbers, encodes and sends the agent's health report, as `.health` whatever the encoder says (so no
    /// queue drops the counts it carries). Returns its number.
    @discardableResult
    public func publish(_ health: AgentHealth) -> UInt64 {
        let seq = sequence.next()
        var message = encoder.message(for: health, seq: seq)
        message.priority = .health
        sink.enqueue(message)
        return seq
    }
}

/// A source with the pipeline it feeds and the thread it runs on.
final class RunningSource: @unchecked Sendable {
    let source: Source
    let pipeline: Pipeline
    /// What the source was built from: a reload keeps the source while this stays the same.
    let plan: SourcePlan
    /// Bumped by the source's thread on every reading and idle call (see `SystemdService`).
    let progress: SourceProgress
    /// The source's own thread, so a reload can stop one source and leave the others running.
    let thread: SourceThreads

    init(source: Source, pipeline: Pipeline, plan: SourcePlan, logger: Logger) {
        self.source = source; self.pipeline = pipeline; self.plan = plan
        let progress = SourceProgress(source: source.name)
        self.progress = progress
        let stop = StopSignal()
        thread = SourceThreads([SourceThreads.Loop(source: source) {
            ProgressSink(pipeline: pipeline, progress: progress, stop: stop)
        }], stopSignal: stop) { source in
            logger.info("source started", metadata: ["source": "\(source.name)", "channels": "\(source.channels.map(\.name).joined(separator: ","))"])
        }
    }

    /// Joins the source's thread, then ends open episodes and sends the last partial summaries.
    func stop() {
        _ = thread.stop(drainTimeout: 0)
        pipeline.finish(wallNanos: Clock.wallNanos())
    }
}

/// Builds sources and pipelines from a config; as a service (stage `sources`), `start` runs each source
/// on its own thread, `stop` joins them and flushes what they hold. `reload` swaps in a new config,
/// restarting only the sources it changes.
public final class Agent: Service, @unchecked Sendable {
    public let publisher: EventPublisher
    let logger: Logger
    struct State {
        var config: VigilConfig
        var running: [RunningSource]
        /// Readings of sources a reload removed or restarted, so the total never goes back.
        var retiredReadings = 0
    }
    let state: Mutex<State>

    /// Throws the config problems that only show when the sources are built (e.g. a simulator's
    /// channel parameters), with the same paths as `VigilConfig.validate()`.
    /// - Parameter sequence: where event numbers come from; nil numbers from 1 in memory.
    public init(config: VigilConfig, sink: MessageSink, sequence: SequenceNumbers? = nil, logger: Logger) throws(ConfigIssueList) {
        self.logger = logger
        self.publisher = EventPublisher(encoder: JSONPayloadEncoder(device: config.device, topicPrefix: config.mqtt.topicPrefix),
                                        sink: sink, sequence: sequence ?? SequenceNumbers(), logger: logger)
        let sources = try Self.buildSources(config, logger: logger)
        state = Mutex(State(config: config, running: []))
        let running = sources.map { makeRunning($0, config) }
        state.withLock { $0.running = running }
    }

    /// The source with the pipeline the config gives its channels.
    func makeRunning(_ source: Source, _ config: VigilConfig) -> RunningSource {
        let settings = source.channels.map { config.detectorSettings(forChannel: $0.name) }
        let pipeline = Pipeline(channels: source.channels, settings: settings,
                                summaryInterval: config.summary.interval, sink: publisher,
                                source: source.name, multivariate: config.multivariateSettings(forSource: source.name))
        return RunningSource(source: source, pipeline: pipeline, plan: SourcePlan(source.name, in: config), logger: logger)
    }

    /// The config in force (the last one a reload accepted).
    public var config: VigilConfig { state.withLock { $0.config } }
    public var sources: [Source] { state.withLock { $0.running.map(\.source) } }
    public var readingsSoFar: Int {
        state.withLock { s in s.running.reduce(s.retiredReadings) { $0 + $1.pipeline.readings } }
    }
    /// Readings per running source since it started.
    public var sourceReadings: [AgentMetrics.SourceReadings] {
        state.withLock { $0.running.map { AgentMetrics.SourceReadings(source: $0.source.name, readings: $0.pipeline.readings) } }
    }
    /// Each source loop's progress counter, for the systemd watchdog: a loop that stops counting is hung.
    public var progress: [(source: String, count: UInt64)] { state.withLock { $0.running.map { ($0.source.name, $0.progress.count) } } }

    public let serviceName = "sources"

    /// Starts each source's loop on its own thread. When one cannot start, the ones started are
    /// stopped again and the error is thrown.
    public func start() throws {
        let running = state.withLock { $0.running }
        for (i, r) in running.enumerated() {
            do { try r.thread.start() } catch {
                for started in running[..<i] { _ = started.thread.stop(drainTimeout: 0) }
                throw error
            }
        }
    }

    /// Stops and joins every source, then ends open episodes and sends the last partial summaries.
    @discardableResult
    public func stop(drainTimeout: Double = 0) -> Bool {
        let running = state.withLock { $0.running }
        for r in running { _ = r.thread.stop(drainTimeout: 0) }
        for r in running { r.pipeline.finish(wallNanos: Clock.wallNanos()) }
        return true
    }
}

/// Several config issues found at once.
public struct ConfigIssueList: Error, Sendable {
    public var issues: [ConfigIssue]
    public init(issues: [ConfigIssue]) { self.issues = issues }
}
