import Logging
import Synchronization
import VigilCore
import SystemPackage
import VigilIO
import VigilSources
#if canImport(Glibc)
import Glibc
#endif

/// Writes the agent's counters for node_exporter's textfile collector: at start, every `interval`, and
/// a last time at stop (`vigil run` adds it at stage `outbox`, after the outbox, so that last write
/// comes after the sources and the uplink stopped). Each write replaces the file
/// atomically (a temporary file renamed over it), so the collector never reads half a file.
public final class MetricsTextfile: Service, Sendable {
    public let serviceName = "metrics textfile"
    private let path: String
    private let intervalNanos: Int64
    private let snapshot: @Sendable () -> AgentMetrics
    private let logger: Logger
    private let stopSignal = StopSignal()
    private let threads = ThreadGroup()
    /// The last write failed (logged once until a write succeeds again).
    private let failing = Mutex(false)

    public init(path: String, interval: ConfigDuration, logger: Logger, snapshot: @escaping @Sendable () -> AgentMetrics) {
        self.path = path
        self.intervalNanos = max(1_000_000, interval.nanoseconds)
        self.snapshot = snapshot
        self.logger = logger
    }

    /// Writes the file now.
    public func write() {
        let text = PrometheusText.render(snapshot())
        // Readable by node_exporter, whatever the unit's UMask.
        let failure = FileIO.replace(path, with: Array(text.utf8), permissions: FilePermissions(rawValue: 0o644), ignoringUmask: true)
        let wasFailing = failing.withLock { f in defer { f = failure != nil }; return f }
        if let failure, !wasFailing {
            logger.warning("cannot write the metrics textfile \(path): \(failure); retrying every interval")
        } else if failure == nil, wasFailing {
            logger.notice("metrics textfile \(path) written again")
        }
    }

    public func start() throws {
        write()
        try threads.start { [self] in
            var due = Clock.monotonicNanos() + intervalNanos
            while !stopSignal.isRaised {
                let now = Clock.monotonicNanos()
                if now >= due {
                    write()
                    due += intervalNanos * max(1, (now - due) / intervalNanos + 1)
                }
                Clock.sleep(untilMonotonic: min(due, Clock.monotonicNanos() + 100_000_000))
            }
        }
    }

    /// Stops the timer and writes the final counts.
    public func stop(drainTimeout: Double) -> Bool {
        stopSignal.raise()
        threads.join()
        write()
        return true
    }
}
