import Logging
import Synchronization
import VigilCore
import VigilSources
#if canImport(Glibc)
import Glibc
#endif

/// How far one source loop has got: a counter its own thread bumps on every reading and every idle
/// call (under a watchdog, sources call `idle` at least twice per check: `ProgressSink`), read by
/// the watchdog thread. A loop that hangs
/// stops the counter, and then `SystemdService` stops pinging systemd's watchdog.
public final class SourceProgress: Sendable {
    public let source: String
    private let counter = Atomic<UInt64>(0)

    public init(source: String) { self.source = source }

    /// Only the source's own thread writes, so a load and a store do (no read-modify-write).
    @inline(__always)
    func tick() { counter.store(counter.load(ordering: .relaxed) &+ 1, ordering: .relaxed) }

    public var count: UInt64 { counter.load(ordering: .relaxed) }
}

/// Stands between a source and its pipeline and counts the source loop's progress.
///
/// For tests of the watchdog only: with `VIGIL_TEST_HANG_AFTER=SECONDS` in the environment, every
/// source loop hangs that long after it started — its next `idle` call blocks (until the agent
/// stops), as a loop stuck in a driver call would. Nothing else reads that variable.
final class ProgressSink: ReadingSink {
    private let pipeline: Pipeline
    private let progress: SourceProgress
    private let hangAtMono: Int64?
    private let stop: StopSignal

    init(pipeline: Pipeline, progress: SourceProgress, stop: StopSignal) {
        self.pipeline = pipeline
        self.progress = progress
        self.stop = stop
        hangAtMono = Self.testHangAfterNanos.map { Clock.monotonicNanos() + $0 }
    }

    static let testHangVariable = "VIGIL_TEST_HANG_AFTER"
    static let testHangAfterNanos: Int64? = {
        guard let s = processEnvironment([testHangVariable])[testHangVariable], let seconds = Double(s), seconds >= 0 else { return nil }
        return Int64(seconds * 1e9)
    }()

    @inline(__always)
    func reading(channel: Int, value: Double, monoNanos: Int64, wallNanos: Int64) {
        progress.tick()
        pipeline.reading(channel: channel, value: value, monoNanos: monoNanos, wallNanos: wallNanos)
    }

    /// The pipeline's next work, but at least every `progressInterval` under a systemd watchdog
    /// (so an idle loop still shows progress), and the test hang's start.
    func nextIdleDeadline(monoNanos: Int64) -> Int64 {
        var due = pipeline.nextIdleDeadline(monoNanos: monoNanos)
        if let every = Self.progressInterval { due = min(due, monoNanos + every) }
        if let hang = hangAtMono { due = min(due, max(hang, monoNanos)) }
        return due
    }

    /// Half the watchdog check interval when systemd expects pings, so every check sees a tick.
    static let progressInterval: Int64? = {
        let env = processEnvironment(["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"])
        guard env["NOTIFY_SOCKET"]?.isEmpty == false, let interval = SystemdNotifier.watchdogInterval(environment: env) else { return nil }
        return max(1_000_000, interval / 2)
    }()

    func idle(monoNanos: Int64, wallNanos: Int64) {
        if let hang = hangAtMono, monoNanos >= hang { hangUntilStopped() }
        progress.tick()
        pipeline.idle(monoNanos: monoNanos, wallNanos: wallNanos)
    }

    func beginBurst() { pipeline.beginBurst() }
    func endBurst() { pipeline.endBurst() }

    func counters(_ counters: SourceCounters) { pipeline.counters(counters) }

    func sourceState(up: Bool, device: String, reason: String, wallNanos: Int64) {
        pipeline.sourceState(up: up, device: device, reason: reason, wallNanos: wallNanos)
    }

    private func hangUntilStopped() {
        stop.sleep(untilMonotonic: .max)
    }
}

/// What `STATUS=` reports, gathered when it is due.
public struct ServiceStatus: Sendable {
    /// Readings taken since start (all sources).
    public var readings: Int
    /// Messages in the outbox, waiting for the broker or in flight.
    public var queued: Int
    public var connected: Bool

    public init(readings: Int, queued: Int, connected: Bool) {
        self.readings = readings; self.queued = queued; self.connected = connected
    }
}

/// The agent's side of a `Type=notify` unit: `READY=1` once it runs, `STATUS=` every few seconds
/// (readings per second, outbox depth, broker connection), `WATCHDOG=1` every half `WatchdogSec=`
/// — but only when every source loop made progress since the previous ping, so a hung loop lets
/// systemd's watchdog fire and restart the service — and `STOPPING=1` when it is told to stop.
///
/// A service of stage `notifier`: started last (`READY=1` once everything else runs) and stopped
/// first (`STOPPING=1`). One thread does the periodic work; it runs only when `$NOTIFY_SOCKET` is set.
public final class SystemdService: Service, Sendable {
    public let serviceName = "systemd notifier"
    public let notifier: SystemdNotifier
    /// Nanoseconds between watchdog checks (half `WATCHDOG_USEC`), nil when systemd expects none.
    public let watchdogInterval: Int64?
    public let statusInterval: Int64
    private let progress: @Sendable () -> [(source: String, count: UInt64)]
    private let snapshot: @Sendable () -> ServiceStatus
    private let logger: Logger
    private let stopSignal = StopSignal()
    private let threads = ThreadGroup()
    /// Pings sent and withheld (a source made no progress), for tests and logs.
    private let counts = Mutex<(pings: Int, withheld: Int)>((0, 0))

    /// - Parameters:
    ///   - environment: `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`; the process's when nil.
    ///   - progress: each source loop's progress counter (`Agent.progress`).
    ///   - status: what `STATUS=` reports.
    public init(environment: [String: String]? = nil, statusInterval: Double = 5,
                progress: @escaping @Sendable () -> [(source: String, count: UInt64)],
                status: @escaping @Sendable () -> ServiceStatus, logger: Logger) {
        let env = environment ?? processEnvironment(["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"])
        notifier = SystemdNotifier(environment: env)
        watchdogInterval = notifier.isEnabled ? SystemdNotifier.watchdogInterval(environment: env) : nil
        self.statusInterval = max(100_000_000, Int64(statusInterval * 1e9))
        self.progress = progress
        self.snapshot = status
        self.logger = logger
    }

    public var pingsSent: Int { counts.withLock { $0.pings } }
    public var pingsWithheld: Int { counts.withLock { $0.withheld } }

    /// Sends `READY=1` with a first status line and starts the periodic thread.
    public func start() throws {
        if let p = notifier.problem { logger.warning("systemd notification disabled", metadata: ["reason": "\(p)"]) }
        guard notifier.isEnabled else { return }
        let first = snapshot()
        if !notifier.ready(status: Self.describe(first, readingsPerSecond: nil)) {
            logger.warning("cannot notify systemd", metadata: ["socket": "\(notifier.socketName ?? "")", "error": "\(String(cString: strerror(errno)))"])
        }
        logger.debug("notified systemd: ready", metadata: ["socket": "\(notifier.socketName ?? "")",
                     "watchdog_ms": "\(watchdogInterval.map { String($0 * 2 / 1_000_000) } ?? "off")"])
        try threads.start { [self] in loop(first: first) }
    }

    /// Stops the periodic thread (no more watchdog pings) and sends `STOPPING=1`.
    public func stop(drainTimeout: Double) -> Bool {
        stopSignal.raise()
        threads.join()
        notifier.stopping(status: "stopping: ending episodes, sending the last summaries, draining the outbox")
        return true
    }

    private func loop(first: ServiceStatus) {
        let start = Clock.monotonicNanos()
        var nextStatus = start + statusInterval
        var nextWatchdog = watchdogInterval.map { start + $0 }
        var lastStatus = (mono: start, readings: first.readings)
        var lastProgress = progress()
        var stalled: Set<String> = []
        while !stopSignal.isRaised {
            let due = min(nextStatus, nextWatchdog ?? Int64.max)
            let now = Clock.monotonicNanos()
            if now < due {
                // Until the next ping or status; `stop` wakes it at once.
                stopSignal.sleep(untilMonotonic: due)
                continue
            }
            if let w = nextWatchdog, now >= w, let interval = watchdogInterval {
                let current = progress()
                let stuck = Self.stuckSources(before: lastProgress, after: current)
                if stuck.isEmpty {
                    notifier.watchdog()
                    counts.withLock { $0.pings += 1 }
                    if !stalled.isEmpty {
                        logger.notice("source loops progress again; watchdog pings resume")
                        stalled = []
                    }
                } else {
                    counts.withLock { $0.withheld += 1 }
                    let newly = Set(stuck).subtracting(stalled)
                    if !newly.isEmpty {
                        logger.error("source loop made no progress; withholding the systemd watchdog ping so systemd restarts the agent",
                                     metadata: ["sources": "\(stuck.joined(separator: ","))", "for_ms": "\(interval / 1_000_000)"])
                    }
                    stalled.formUnion(stuck)
                }
                lastProgress = current
                nextWatchdog = w + interval * max(1, (now - w) / interval + 1)
            }
            if now >= nextStatus {
                let s = snapshot()
                let rate = Double(s.readings - lastStatus.readings) / (Double(now - lastStatus.mono) / 1e9)
                notifier.status(Self.describe(s, readingsPerSecond: rate, stalled: stalled.sorted()))
                lastStatus = (now, s.readings)
                nextStatus = now + statusInterval
            }
        }
    }

    /// Sources whose counter did not move between two samples. A source that appeared since (a reload
    /// added or restarted it: a new counter) is not stuck; one that vanished is no longer watched.
    static func stuckSources(before: [(source: String, count: UInt64)], after: [(source: String, count: UInt64)]) -> [String] {
        after.compactMap { a in before.first { $0.source == a.source }?.count == a.count ? a.source : nil }
    }

    /// `12.0 readings/s, outbox 3, broker connected` — the text of `STATUS=`.
    static func describe(_ s: ServiceStatus, readingsPerSecond rate: Double?, stalled: [String] = []) -> String {
        var text = ""
        if !stalled.isEmpty { text += "STALLED source(s) \(stalled.joined(separator: ",")); " }
        if let rate, rate.isFinite {
            text += "\(JSONWriter.rounded(rate, places: 1)) readings/s"
        } else {
            text += "running"
        }
        text += ", outbox \(s.queued), broker \(s.connected ? "connected" : "not connected")"
        return text
    }
}
