import VigilFleetCore

/// Alerts waiting for webhook delivery, in both stores: written in the batch's transaction, finished once.
extension FleetDatabase {
    /// Inside `commit`'s transaction: each new alert pending, after every alert queued before it.
    func insertAlerts(_ alerts: [FleetAlert], _ db: any SQLSession) throws {
        guard !alerts.isEmpty else { return }
        var queued = try db.fetch(FleetSchema.lastQueued).first?.int("queued") ?? 0
        for a in alerts {
            queued += 1
            try db.execute(FleetSchema.insertAlert, a.id, queued, a.kind.rawValue, a.phase.rawValue, a.device, a.subject, a.name, a.episode,
                           a.seq, a.startsNanos, a.endsNanos, a.reason)
        }
    }

    public func pendingAlerts(limit: Int) throws -> [FleetAlert] {
        try read { db in
            try db.fetch(FleetSchema.pendingAlerts, limit).map { row in
                let id = try row.required("id", row.string)
                guard let kind = AlertKind(rawValue: row["kind"].text), let phase = AlertPhase(rawValue: row["phase"].text) else {
                    throw FleetStoreError("\(location): alert \(id) has kind '\(row["kind"].text)' phase '\(row["phase"].text)'")
                }
                return FleetAlert(id: id, kind: kind, phase: phase, device: row["device"].text, subject: row["subject"].text,
                                  name: row["name"].text, episode: row.int("episode"), seq: row.int("seq").map { UInt64(bitPattern: $0) },
                                  startsNanos: try row.required("starts_ns", row.int), endsNanos: row.int("ends_ns"), reason: row.string("reason"))
            }
        }
    }

    public func finishAlert(id: String, _ delivery: AlertDelivery, attempts: Int, now: Int64) throws {
        try write { db in _ = try db.execute(FleetSchema.finishAlert, delivery.rawValue, attempts, now, id) }
    }

    /// Alerts by delivery state (`pending`, `delivered`, `rejected`): for tests and the operator.
    public func alertCounts() throws -> [String: Int] {
        try read { db in
            var out: [String: Int] = [:]
            for row in try db.fetch("SELECT delivery, COUNT(*) AS n FROM alerts GROUP BY delivery") {
                out[row["delivery"].text] = Int(row.int("n") ?? 0)
            }
            return out
        }
    }
}
