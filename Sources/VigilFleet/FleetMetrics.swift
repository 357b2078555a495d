import Hummingbird
import Prometheus
import Synchronization
import VigilFleetCore

/// The receiver's Prometheus metrics (swift-prometheus), served as `GET /metrics` in the text format.
/// Counters count since this process started; gauges are the fleet as the store has it.
public final class FleetMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let messages: Counter
    private let duplicates: Counter
    private let rejected: Counter
    private let stored: Counter
    private let skipped: Gauge
    private let lost: Gauge
    private let devicesOnline: Gauge
    private let devices: Gauge
    private let lag: ValueHistogram
    private let webhookSent: Counter
    private let webhookFailed: Counter
    private let webhookRejected: Counter
    private let webhookDropped: Counter
    private let webhookQueued: Gauge
    /// The sender's counts as last exported, so its counters grow by the difference.
    private let exported = Mutex(AlertSenderCounts())
    private let sender: AlertSender?

    /// Lag buckets in seconds: from the agent's `ts` to the receiver's commit.
    public static let lagBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

    public init(sender: AlertSender? = nil) {
        self.sender = sender
        let r = registry
        messages = r.makeCounter(name: "vigil_fleet_messages_total", help: "MQTT messages taken in, rejected ones and duplicates included")
        duplicates = r.makeCounter(name: "vigil_fleet_duplicates_total", help: "Sequenced messages received again (counted, not stored)")
        rejected = r.makeCounter(name: "vigil_fleet_rejected_total", help: "Messages refused (bad JSON, schema, topic, size, name)")
        stored = r.makeCounter(name: "vigil_fleet_stored_total", help: "Sequenced messages stored (each device and seq once)")
        skipped = r.makeGauge(name: "vigil_fleet_seqs_skipped", help: "Sequence numbers skipped by declaration (a restart's birth), all devices")
        lost = r.makeGauge(name: "vigil_fleet_seqs_lost", help: "Sequence numbers lost, all devices")
        devicesOnline = r.makeGauge(name: "vigil_fleet_devices_online", help: "Devices whose status says online")
        devices = r.makeGauge(name: "vigil_fleet_devices", help: "Devices known")
        lag = r.makeValueHistogram(name: "vigil_fleet_ingest_lag_seconds", buckets: Self.lagBuckets,
                                   help: "From a stored message's ts (the agent's clock) to its commit (the receiver's)")
        webhookSent = r.makeCounter(name: "vigil_fleet_webhook_sent_total", help: "Alerts the webhook took (2xx)")
        webhookFailed = r.makeCounter(name: "vigil_fleet_webhook_failed_total", help: "Webhook attempts that failed and are retried")
        webhookRejected = r.makeCounter(name: "vigil_fleet_webhook_rejected_total", help: "Alerts the webhook refused for good (4xx)")
        webhookDropped = r.makeCounter(name: "vigil_fleet_webhook_dropped_total", help: "Alerts dropped because the queue was full")
        webhookQueued = r.makeGauge(name: "vigil_fleet_webhook_queued", help: "Alerts waiting for delivery")
    }

    /// After each committed batch, on the receiver's thread.
    func record(_ c: ChangeSet, duplicates dups: Int, committedNanos now: Int64, state: FleetState) {
        messages.increment(by: c.received)
        if dups > 0 { duplicates.increment(by: Int64(dups)) }
        let refused = c.rejections.values.reduce(0, +)
        if refused > 0 { rejected.increment(by: refused) }
        if !c.events.isEmpty { stored.increment(by: Int64(c.events.count)) }
        for e in c.events { lag.record(Double(now - e.tsNanos) / 1e9) }
        guard !c.devices.isEmpty else { return }
        var (online, skips, losses) = (0, Int64(0), Int64(0))
        for d in state.devices.values {
            if d.state == .online { online += 1 }
            skips += d.ledger.skipped
            losses += d.ledger.lost
        }
        devicesOnline.set(Int64(online))
        devices.set(Int64(state.devices.count))
        skipped.set(skips)
        lost.set(losses)
    }

    /// The text exposition, with the webhook's counts brought up to date.
    public func exposition() -> [UInt8] {
        if let counts = sender?.counts {
            let before = exported.withLock { old in defer { old = counts }; return old }
            if counts.sent > before.sent { webhookSent.increment(by: counts.sent - before.sent) }
            if counts.failedAttempts > before.failedAttempts { webhookFailed.increment(by: counts.failedAttempts - before.failedAttempts) }
            if counts.rejected > before.rejected { webhookRejected.increment(by: counts.rejected - before.rejected) }
            if counts.dropped > before.dropped { webhookDropped.increment(by: counts.dropped - before.dropped) }
            webhookQueued.set(Int64(counts.queued))
        }
        return registry.emitToBuffer()
    }

    func addRoute<Context: RequestContext>(to router: Router<Context>) {
        router.get("/metrics") { [self] _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: exposition())))
        }
    }
}
