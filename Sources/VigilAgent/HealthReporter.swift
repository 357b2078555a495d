import Logging
import Synchronization
import VigilCore
import VigilSources

/// The numbers the agent's health message reports, handed to the reporter when a report is due.
public struct HealthSnapshot: Sendable, Equatable {
    /// Readings taken since start (all sources).
    public var readings: Int
    /// Messages in the outbox (waiting or in flight) and their payload bytes.
    public var outboxEvents: Int
    public var outboxBytes: Int
    public var outboxStorage: AgentHealth.Storage
    /// Dropped by the outbox's bounds since start.
    public var droppedSummaries: Int
    public var droppedEvents: Int
    public var brokerConnected: Bool
    public var brokerConnects: Int
    /// Losses the outbox counted while recovering its files at start.
    public var recoveryLosses = RecoveryLossCounts()
    /// Health reports still in the outbox (not yet acknowledged by the broker).
    public var healthReportsHeld = 0

    public init(readings: Int, outboxEvents: Int, outboxBytes: Int, outboxStorage: AgentHealth.Storage,
                droppedSummaries: Int, droppedEvents: Int, brokerConnected: Bool, brokerConnects: Int) {
        self.readings = readings; self.outboxEvents = outboxEvents; self.outboxBytes = outboxBytes
        self.outboxStorage = outboxStorage; self.droppedSummaries = droppedSummaries; self.droppedEvents = droppedEvents
        self.brokerConnected = brokerConnected; self.brokerConnects = brokerConnects
    }
}

/// Publishes the agent's own health on `<prefix>/<device>/health` every `interval` (a service of stage
/// `reporters`): the outbox's depth and storage, and the messages the outbox dropped since the previous
/// health message (summaries and events separately), so every drop is reported upstream once. It goes
/// through the outbox like any event, numbered in the device's sequence; the publisher's encoder writes
/// the payload (`JSONPayloadEncoder.message(for: AgentHealth, seq:)` shows it).
///
/// Drop counts are never lost: a health report has priority `.health`, which the outbox's bounds never
/// drop, and while one is still held (say the broker is away) the next is not sent: the drops since go
/// into the first report after it is acknowledged. So the outbox holds at most one report.
public final class HealthReporter: Service, Sendable {
    public let serviceName = "health reporter"
    private let publisher: EventPublisher
    private let intervalNanos: Int64
    private let snapshot: @Sendable () -> HealthSnapshot
    private let startedMono: Int64
    private let stopSignal = StopSignal()
    private let threads = ThreadGroup()
    /// Drops already reported: (summaries, events).
    private let reported = Mutex<(Int, Int)>((0, 0))

    /// - Parameter snapshot: the numbers to report, gathered by whoever owns them when a report is due.
    public init(publisher: EventPublisher, interval: ConfigDuration, snapshot: @escaping @Sendable () -> HealthSnapshot) {
        self.publisher = publisher
        self.intervalNanos = max(1_000_000, interval.nanoseconds)
        self.snapshot = snapshot
        self.startedMono = Clock.monotonicNanos()
    }

    /// What to report for `snapshot`, counting drops since the previous report.
    func health(_ s: HealthSnapshot, wallNanos: Int64, monoNanos: Int64) -> AgentHealth {
        let (summaries, events) = reported.withLock { r -> (Int, Int) in
            defer { r = (s.droppedSummaries, s.droppedEvents) }
            return (max(0, s.droppedSummaries - r.0), max(0, s.droppedEvents - r.1))
        }
        var health = AgentHealth(wallNanos: wallNanos, uptimeSeconds: Int((monoNanos - startedMono) / 1_000_000_000),
                                 readings: s.readings, outboxEvents: s.outboxEvents, outboxBytes: s.outboxBytes,
                                 outboxStorage: s.outboxStorage, droppedSummaries: summaries, droppedEvents: events,
                                 droppedTotal: s.droppedSummaries + s.droppedEvents,
                                 brokerConnected: s.brokerConnected, brokerConnects: s.brokerConnects)
        health.recoveryLosses = s.recoveryLosses
        return health
    }

    /// Publishes one health message now, unless the previous one is still in the outbox (then its counts
    /// wait for the next report). Returns whether it published.
    @discardableResult
    public func report() -> Bool {
        let s = snapshot()
        guard s.healthReportsHeld == 0 else { return false }
        publisher.publish(health(s, wallNanos: Clock.wallNanos(), monoNanos: Clock.monotonicNanos()))
        return true
    }

    /// Starts the timer thread: the first report one interval after start.
    public func start() throws {
        try threads.start { [self] in
            var due = Clock.monotonicNanos() + intervalNanos
            while !stopSignal.isRaised {
                let now = Clock.monotonicNanos()
                if now >= due {
                    report()
                    due += intervalNanos * max(1, (now - due) / intervalNanos + 1)
                }
                stopSignal.sleep(untilMonotonic: due)
            }
        }
    }

    /// Stops the timer thread (no final report: the next run's first report carries what is left).
    public func stop(drainTimeout: Double) -> Bool {
        stopSignal.raise()
        threads.join()
        return true
    }
}
