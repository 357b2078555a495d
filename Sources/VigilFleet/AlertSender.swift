import Dispatch
import Logging
import Synchronization
import VigilCore
import VigilFleetCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Counts of the sender's work since the process started (for `/metrics` and tests).
public struct AlertSenderCounts: Sendable, Equatable {
    /// Alerts the webhook took (2xx).
    public var sent: Int64 = 0
    /// Attempts that failed (no answer, 5xx, 408, 429) and will be retried.
    public var failedAttempts: Int64 = 0
    /// Alerts the webhook refused for good (another 4xx): not retried.
    public var rejected: Int64 = 0
    /// Alerts not queued because the queue was full.
    public var dropped: Int64 = 0
    /// Alerts waiting now.
    public var queued: Int = 0
}

/// Delivers alerts to one webhook from its own thread, in the order they were raised, one at a time.
///
/// The queue is the store's pending alerts: the receiver stores a batch's alerts with the batch (after
/// `admit` trimmed them to the room left), then `enqueue`s them. Each is retried with exponential backoff
/// (`initialBackoff` doubling up to `maxBackoff`) until the webhook answers 2xx, then marked delivered in the
/// store, so a restarted receiver sends only what is still pending. A receiver killed between the 2xx and
/// the mark sends that one alert again; its `id` (and Alertmanager's labels) let the other side see it.
public final class AlertSender: Sendable {
    public let target: WebhookTarget
    public let capacity: Int
    private let store: FleetStore
    private let logger: Logger
    private let initialBackoff: Double
    private let maxBackoff: Double
    private let state: Mutex<(queue: [FleetAlert], counts: AlertSenderCounts, overflowLogged: Bool)>
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = StopFlag()
    private let finished = DispatchSemaphore(value: 0)

    /// Loads the store's pending alerts (the oldest `capacity`).
    public init(target: WebhookTarget, store: FleetStore, capacity: Int = 10_000, logger: Logger,
                initialBackoff: Double = 0.5, maxBackoff: Double = 60) throws {
        self.target = target; self.store = store; self.capacity = capacity; self.logger = logger
        self.initialBackoff = initialBackoff; self.maxBackoff = maxBackoff
        let pending = try store.pendingAlerts(limit: capacity)
        var counts = AlertSenderCounts()
        counts.queued = pending.count
        state = Mutex((pending, counts, false))
        if !pending.isEmpty { logger.notice("\(pending.count) alerts pending for \(target.shown) from before the restart") }
    }

    public var counts: AlertSenderCounts { state.withLock { $0.counts } }

    /// The alerts that fit in the queue; the rest are counted as dropped (logged the first time).
    public func admit(_ alerts: [FleetAlert]) -> [FleetAlert] {
        guard !alerts.isEmpty else { return [] }
        let (room, firstOverflow) = state.withLock { s -> (Int, Bool) in
            let room = max(0, capacity - s.queue.count)
            guard alerts.count > room else { return (room, false) }
            s.counts.dropped += Int64(alerts.count - room)
            defer { s.overflowLogged = true }
            return (room, !s.overflowLogged)
        }
        if firstOverflow {
            logger.error("alert queue full (\(capacity) pending for \(target.shown)): \(alerts.count - room) alerts dropped; further drops are only counted (vigil_fleet_webhook_dropped_total)")
        }
        return Array(alerts.prefix(room))
    }

    /// After the batch holding `alerts` committed.
    public func enqueue(_ alerts: [FleetAlert]) {
        guard !alerts.isEmpty else { return }
        state.withLock { $0.queue += alerts; $0.counts.queued = $0.queue.count }
        wake.signal()
    }

    public func start() throws {
        let thread = try Threads.start { [self] in
            run()
            finished.signal()
        }
        pthread_detach(thread)
    }

    /// Stops after the attempt in flight (bounded by its timeout).
    public func stop() {
        stopped.raise()
        wake.signal()
        finished.wait()
    }

    private func run() {
        var backoff = initialBackoff
        var attempts = 0
        while !stopped.isRaised {
            guard let alert = state.withLock({ $0.queue.first }) else {
                _ = wake.wait(timeout: .now() + .seconds(1))
                continue
            }
            attempts += 1
            let outcome: AlertDelivery?
            do {
                let code = try HTTPPost.post(AlertBody.render(alert, mode: target.mode), to: target)
                switch code {
                case 200..<300: outcome = .delivered
                case 408, 429, 500...: outcome = nil
                default: outcome = .rejected
                }
                if outcome == nil { note(failure: "HTTP \(code)", alert, attempts) }
                if outcome == .rejected { logger.error("\(target.shown) refused alert \(alert.id) with HTTP \(code): not retried") }
            } catch {
                outcome = nil
                note(failure: error.description, alert, attempts)
            }
            guard let outcome else {
                state.withLock { $0.counts.failedAttempts += 1 }
                sleep(seconds: backoff)
                backoff = min(backoff * 2, maxBackoff)
                continue
            }
            do {
                try store.finishAlert(id: alert.id, outcome, attempts: attempts, now: Clock.wallNanos())
            } catch {
                logger.error("alert \(alert.id) was \(outcome.rawValue) but the store could not record it (a restart sends it again): \(error)")
            }
            state.withLock { s in
                s.queue.removeFirst()
                s.counts.queued = s.queue.count
                if outcome == .delivered { s.counts.sent += 1 } else { s.counts.rejected += 1 }
            }
            attempts = 0
            backoff = initialBackoff
        }
    }

    /// Logged at an alert's 1st, 10th, 100th, … failed attempt.
    private func note(failure: String, _ alert: FleetAlert, _ attempts: Int) {
        var power = 1
        while power < attempts { power *= 10 }
        guard power == attempts else { return }
        logger.warning("webhook \(target.shown): alert \(alert.id) attempt \(attempts) failed (\(failure)); retrying with backoff")
    }

    private func sleep(seconds: Double) {
        // Polled, so that a wake-up from `enqueue` does not cut the backoff short but a stop does.
        let deadline = Clock.monotonicNanos() + Int64(seconds * 1e9)
        while !stopped.isRaised, Clock.monotonicNanos() < deadline { usleep(50_000) }
    }
}
