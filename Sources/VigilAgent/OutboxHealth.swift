import Logging
import Synchronization
import VigilCore
import VigilSources
import VigilUplink
#if canImport(Glibc)
import Glibc
#endif

/// What the agent's health message reports, gathered when it is due.
public struct HealthSnapshot: Sendable {
    public var outbox: Outbox.Stats
    public var connected: Bool
    public var connects: Int
    public var readings: Int

    public init(outbox: Outbox.Stats, connected: Bool, connects: Int, readings: Int) {
        self.outbox = outbox; self.connected = connected; self.connects = connects; self.readings = readings
    }
}

/// Publishes the agent's own health on `<prefix>/<device>/health` every `interval`: the outbox's depth and
/// storage, and the messages the outbox dropped since the previous health message (summaries and events
/// separately), so every drop is reported upstream once. It goes through the outbox like any event,
/// numbered in the device's sequence.
///
/// ```json
/// {"v":1,"device":"gw-1","seq":40,"type":"health","ts":"2026-11-23T11:41:00.123Z","uptime_s":3600,"readings":36000,"outbox_events":12,"outbox_bytes":3456,"outbox_storage":"disk","dropped_summaries":3,"dropped_events":0,"dropped_total":3,"mqtt":"connected","mqtt_connects":2}
/// ```
public final class HealthReporter: Sendable {
    private let publisher: EventPublisher
    private let intervalNanos: Int64
    private let snapshot: @Sendable () -> HealthSnapshot
    private let startedWall: Int64
    private let startedMono: Int64
    private let stopSignal = StopSignal()
    private let thread = Mutex<pthread_t?>(nil)
    /// Drops already reported: (summaries, events).
    private let reported = Mutex<(Int, Int)>((0, 0))

    public init(publisher: EventPublisher, interval: ConfigDuration, snapshot: @escaping @Sendable () -> HealthSnapshot) {
        self.publisher = publisher
        self.intervalNanos = max(1_000_000, interval.nanoseconds)
        self.snapshot = snapshot
        self.startedWall = Clock.wallNanos()
        self.startedMono = Clock.monotonicNanos()
    }

    /// The message for `snapshot` with sequence number `seq`, counting drops since the previous report.
    func message(seq: UInt64, snapshot s: HealthSnapshot, wallNanos: Int64, monoNanos: Int64) -> OutboundMessage {
        let (summaries, events) = reported.withLock { r -> (Int, Int) in
            defer { r = (s.outbox.droppedSummaries, s.outbox.droppedEvents) }
            return (max(0, s.outbox.droppedSummaries - r.0), max(0, s.outbox.droppedEvents - r.1))
        }
        let e = publisher.encoder
        var w = JSONWriter()
        w.int("v", EventEncoder.schemaVersion)
        w.string("device", e.device)
        w.int("seq", Int(seq))
        w.string("type", "health")
        w.timestamp("ts", wallNanos)
        w.int("uptime_s", Int((monoNanos - startedMono) / 1_000_000_000))
        w.int("readings", s.readings)
        w.int("outbox_events", s.outbox.events)
        w.int("outbox_bytes", s.outbox.bytes)
        w.string("outbox_storage", s.outbox.storage.rawValue)
        w.int("dropped_summaries", summaries)
        w.int("dropped_events", events)
        w.int("dropped_total", s.outbox.dropped)
        w.string("mqtt", s.connected ? "connected" : "disconnected")
        w.int("mqtt_connects", s.connects)
        return OutboundMessage(topic: e.healthTopic, payload: w.finish(), qos: 1, priority: .event)
    }

    /// Publishes one health message now.
    public func report() {
        let s = snapshot()
        publisher.publish { seq in message(seq: seq, snapshot: s, wallNanos: Clock.wallNanos(), monoNanos: Clock.monotonicNanos()) }
    }

    /// Starts the timer thread: the first report one interval after start.
    public func start() {
        let started = try? Threads.start { [self] in
            var due = Clock.monotonicNanos() + intervalNanos
            while !stopSignal.isRaised {
                let now = Clock.monotonicNanos()
                if now >= due {
                    report()
                    due += intervalNanos * max(1, (now - due) / intervalNanos + 1)
                }
                Clock.sleep(untilMonotonic: min(due, Clock.monotonicNanos() + 100_000_000))
            }
        }
        if let started { thread.withLock { $0 = started } }
    }

    /// Stops the timer thread (no final report: the next run's first report carries what is left).
    public func stop() {
        stopSignal.raise()
        if let t = thread.withLock({ t -> pthread_t? in defer { t = nil }; return t }) { pthread_join(t, nil) }
    }
}
