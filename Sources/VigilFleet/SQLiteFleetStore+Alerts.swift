import GRDB
import VigilFleetCore

extension SQLiteFleetStore {
    /// Inside `commit`'s transaction: each new alert pending, after every alert queued before it.
    func insertAlerts(_ alerts: [FleetAlert], _ db: Database) throws {
        guard !alerts.isEmpty else { return }
        var queued = try Int64.fetchOne(db, sql: FleetSchema.lastQueued) ?? 0
        let insert = try db.cachedStatement(sql: FleetSchema.insertAlert)
        for a in alerts {
            queued += 1
            try insert.execute(arguments: [a.id, queued, a.kind.rawValue, a.phase.rawValue, a.device, a.subject, a.name, a.episode,
                                           a.seq.map { Int64($0) }, a.startsNanos, a.endsNanos, a.reason])
        }
    }

    public func pendingAlerts(limit: Int) throws -> [FleetAlert] {
        try pool.read { db in
            try Row.fetchAll(db, sql: FleetSchema.pendingAlerts, arguments: [limit]).map { row in
                let id: String = row["id"]
                guard let kind = AlertKind(rawValue: row["kind"]), let phase = AlertPhase(rawValue: row["phase"]) else {
                    throw FleetStoreError("\(path): alert \(id) has kind '\(row["kind"] as String)' phase '\(row["phase"] as String)'")
                }
                return FleetAlert(id: id, kind: kind, phase: phase, device: row["device"], subject: row["subject"], name: row["name"],
                                  episode: row["episode"], seq: (row["seq"] as Int64?).map { UInt64($0) },
                                  startsNanos: row["starts_ns"], endsNanos: row["ends_ns"], reason: row["reason"])
            }
        }
    }

    public func finishAlert(id: String, _ delivery: AlertDelivery, attempts: Int, now: Int64) throws {
        try pool.write { db in
            try db.execute(sql: FleetSchema.finishAlert, arguments: [delivery.rawValue, attempts, now, id])
        }
    }

    /// Alerts by delivery state (`pending`, `delivered`, `rejected`): for tests and the operator.
    public func alertCounts() throws -> [String: Int] {
        try pool.read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT delivery, COUNT(*) AS n FROM alerts GROUP BY delivery") { out[row["delivery"]] = row["n"] }
            return out
        }
    }
}
