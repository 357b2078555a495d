import VigilFleetCore

/// Alerts waiting for (or done with) webhook delivery: written in the transaction of the batch that raised
/// them, marked delivered after the webhook's 2xx, so a restarted receiver neither loses nor repeats one.
extension FleetSchema {
    static let v3: [String] = [
        """
        CREATE TABLE alerts (
            id TEXT PRIMARY KEY,
            queued BIGINT NOT NULL,
            kind TEXT NOT NULL,
            phase TEXT NOT NULL,
            device TEXT NOT NULL,
            subject TEXT NOT NULL,
            name TEXT NOT NULL,
            episode BIGINT,
            seq BIGINT,
            starts_ns BIGINT NOT NULL,
            ends_ns BIGINT,
            reason TEXT,
            delivery TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            done_ns BIGINT
        )
        """,
        "CREATE INDEX alerts_delivery ON alerts (delivery, queued)",
    ]

    /// `queued` orders delivery: the previous maximum plus the alert's place in its batch.
    static let insertAlert = """
        INSERT INTO alerts (id, queued, kind, phase, device, subject, name, episode, seq, starts_ns, ends_ns, reason, delivery, attempts)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0) ON CONFLICT (id) DO NOTHING
        """
    static let lastQueued = "SELECT COALESCE(MAX(queued), 0) AS queued FROM alerts"
    static let pendingAlerts = """
        SELECT id, kind, phase, device, subject, name, episode, seq, starts_ns, ends_ns, reason FROM alerts
        WHERE delivery = 'pending' ORDER BY queued LIMIT ?
        """
    static let finishAlert = "UPDATE alerts SET delivery = ?, attempts = ?, done_ns = ? WHERE id = ? AND delivery = 'pending'"
    static let expireAlerts = "DELETE FROM alerts WHERE delivery <> 'pending' AND done_ns < ?"
}

/// How an alert's delivery ended.
public enum AlertDelivery: String, Sendable {
    /// The webhook answered 2xx.
    case delivered
    /// The webhook refused it for good (a 4xx other than 408 and 429): not retried.
    case rejected
}
