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
}

/// Numbers events (one sequence per device), encodes them and hands them to the uplink.
public final class EventPublisher: EventSink, Sendable {
    public let encoder: EventEncoder
    private let sink: MessageSink
    private let nextSeq: Atomic<UInt64>
    private let logger: Logger

    public init(encoder: EventEncoder, sink: MessageSink, firstSeq: UInt64 = 1, logger: Logger) {
        self.encoder = encoder
        self.sink = sink
        self.nextSeq = Atomic(firstSeq)
        self.logger = logger
    }

    public var lastSeq: UInt64 { nextSeq.load(ordering: .relaxed) &- 1 }

    public func emit(_ event: Event) {
        let seq = nextSeq.wrappingAdd(1, ordering: .relaxed).oldValue
        let message = encoder.message(for: event, seq: seq)
        switch event {
        case .anomalyStart(let c, let s):
            logger.notice("anomaly started", metadata: ["channel": "\(c.name)", "episode": "\(s.id)", "value": "\(s.value)", "z": "\(JSONWriter.rounded(s.z, places: 2))"])
        case .anomalyEnd(let c, let e):
            logger.notice("anomaly ended", metadata: ["channel": "\(c.name)", "episode": "\(e.id)", "duration_ms": "\(e.durationNanos / 1_000_000)", "peak_z": "\(JSONWriter.rounded(e.peakZ, places: 2))", "reason": "\(e.reason.rawValue)"])
        case .summary(let c, let s):
            logger.debug("summary", metadata: ["channel": "\(c.name)", "count": "\(s.count)", "anomalies": "\(s.anomalies)"])
        }
        sink.enqueue(message)
    }
}

/// A source with the pipeline it feeds and the thread it runs on.
final class RunningSource: @unchecked Sendable {
    let source: Source
    let pipeline: Pipeline
    var thread: pthread_t?
    init(source: Source, pipeline: Pipeline) { self.source = source; self.pipeline = pipeline }
}

/// Builds sources and pipelines from a config; `start` runs each source on its own thread, `stop`
/// joins them and flushes what they hold.
public final class Agent: @unchecked Sendable {
    public let config: VigilConfig
    public let publisher: EventPublisher
    private let logger: Logger
    private let stopSignal = StopSignal()
    private var running: [RunningSource] = []

    /// Throws the config problems that only show when the sources are built (e.g. a simulator's
    /// channel parameters), with the same paths as `VigilConfig.validate()`.
    public init(config: VigilConfig, sink: MessageSink, logger: Logger) throws(ConfigIssueList) {
        self.config = config
        self.logger = logger
        self.publisher = EventPublisher(encoder: EventEncoder(device: config.device, topicPrefix: config.mqtt.topicPrefix),
                                        sink: sink, logger: logger)
        let sources = try Self.buildSources(config)
        running = sources.map { source in
            let settings = source.channels.map { config.detectorSettings(forChannel: $0.name) }
            let pipeline = Pipeline(channels: source.channels, settings: settings,
                                    summaryInterval: config.summary.interval, sink: publisher)
            return RunningSource(source: source, pipeline: pipeline)
        }
    }

    public static func buildSources(_ config: VigilConfig) throws(ConfigIssueList) -> [Source] {
        var sources: [Source] = []
        var issues: [ConfigIssue] = []
        for (i, sc) in config.sources.enumerated() {
            switch sc {
            case .simulator(let s):
                do { sources.append(try SimulatorSource(config: s)) } catch {
                    issues.append(ConfigIssue(["sources", "\(i)"] + error.path, error.message))
                }
            }
        }
        if !issues.isEmpty { throw ConfigIssueList(issues: issues) }
        return sources
    }

    public var sources: [Source] { running.map(\.source) }
    public var readingsSoFar: Int { running.reduce(0) { $0 + $1.pipeline.readings } }

    public func start() {
        for r in running {
            let box = Unmanaged.passRetained(ThreadBody { [stopSignal] in r.source.run(into: r.pipeline, until: stopSignal) })
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { arg in
                let body = Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue()
                body.run()
                return nil
            }, box.toOpaque())
            precondition(rc == 0, "pthread_create failed: \(rc)")
            r.thread = tid
            logger.info("source started", metadata: ["source": "\(r.source.name)", "channels": "\(r.source.channels.map(\.name).joined(separator: ","))"])
        }
    }

    /// Stops and joins every source, then ends open episodes and sends the last partial summaries.
    public func stop() {
        stopSignal.raise()
        for r in running {
            if let t = r.thread { pthread_join(t, nil) }
            r.thread = nil
            r.pipeline.finish(wallNanos: Clock.wallNanos())
            if let sim = r.source as? SimulatorSource {
                for f in sim.groundTruth {
                    logger.info("simulator injected fault", metadata: ["kind": "\(f.kind.rawValue)", "channel": "\(f.channel)",
                        "from_s": "\(Double(f.startNanos) / 1e9)", "to_s": "\(Double(f.endNanos) / 1e9)", "magnitude": "\(f.magnitude)"])
                }
            }
        }
    }
}

/// Several config issues found at once.
public struct ConfigIssueList: Error, Sendable { public var issues: [ConfigIssue] }

final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
