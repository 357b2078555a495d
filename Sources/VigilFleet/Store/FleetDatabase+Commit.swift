import VigilCore
import VigilFleetCore

extension FleetDatabase {
    public func commit(_ c: ChangeSet) throws -> CommitResult {
        try write { db in
            let inserted = try insertEvents(c.events, db)
            try insertSummaries(c.summaries, db)
            // Rows in a fixed order, so two receivers writing one PostgreSQL lock them in the same order.
            for d in c.devices.sorted(by: { $0.device < $1.device }) { try writeDevice(d, db) }
            for (k, e) in c.episodes.sorted(by: { $0.key < $1.key }) {
                if let e {
                    try db.execute(FleetSchema.upsertEpisode, k.device, k.subject, k.episode, e.startSeq, e.startedNanos, e.detector, e.z)
                } else {
                    try db.execute("DELETE FROM open_episodes WHERE device = ? AND subject = ? AND episode = ?", k.device, k.subject, k.episode)
                }
            }
            for (k, h) in c.health.sorted(by: { $0.key < $1.key }) {
                if let h {
                    try db.execute(FleetSchema.upsertHealth, k.device, k.channel, k.check, h.startSeq, h.startedNanos)
                } else {
                    try db.execute("DELETE FROM health_problems WHERE device = ? AND channel = ? AND check_name = ?", k.device, k.channel, k.check)
                }
            }
            for s in c.sources {
                try db.execute(FleetSchema.upsertSource, s.key.device, s.key.source, s.up, s.sinceNanos, s.path, s.reason, s.seq)
            }
            try insertAlerts(c.alerts, db)
            let conflicts = c.events.count - inserted
            var deltas = c.rejections.map { ("rejected." + $0.key, $0.value) }
            deltas.append(("received", c.received))
            if conflicts > 0 { deltas.append(("conflicts", Int64(conflicts))) }
            for (name, value) in deltas.sorted(by: { $0.0 < $1.0 }) where value != 0 {
                try db.execute(FleetSchema.addCounter, name, value)
            }
            return CommitResult(inserted: inserted, conflicts: conflicts)
        }
    }

    /// The device's row and its gaps (replaced whole: a ledger holds at most `SeqLedger.maxGaps`).
    private func writeDevice(_ d: DeviceRecord, _ db: any SQLSession) throws {
        let l = d.ledger
        let args: [any SQLBindable] = [
            d.device, d.state.rawValue, d.stateSinceNanos, d.cleanOffline, d.firstSeenNanos, d.lastSeenNanos, d.version,
            d.lastBirth.map(\.firstSeq), d.lastBirth?.startedNanos, d.lastBirthReceivedNanos, d.births, d.messages,
            d.stored, l.duplicates, l.filled, l.recovered, l.beforeHistory, l.lost, l.skipped, l.open, l.resets,
            l.floor, l.next, l.runStart, l.cleanStopSeq, l.healthSeqs.map(String.init).joined(separator: ","),
        ]
        try db.execute(FleetSchema.upsertDevice, args.map { $0.sqlValue })
        try db.execute("DELETE FROM gaps WHERE device = ?", d.device)
        for g in l.gaps {
            // An upsert: another receiver of the group may have written the same gap since this one's DELETE.
            try db.execute("""
                INSERT INTO gaps (device, first_seq, last_seq, state, opened_ns) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (device, first_seq) DO UPDATE SET last_seq = excluded.last_seq, state = excluded.state, opened_ns = excluded.opened_ns
                """, d.device, g.first, g.last, g.state.rawValue, g.openedNanos)
        }
    }

    public func applyRetention(_ policy: RetentionPolicy, now: Int64) throws -> RetentionResult {
        try write { db in
            let eventsBefore = now - policy.events.nanoseconds
            let result = RetentionResult(
                events: try db.execute("DELETE FROM events WHERE received_ns < ?", eventsBefore),
                summaries: try db.execute("DELETE FROM summaries WHERE ts_ns < ?", eventsBefore),
                rollups: try db.execute("DELETE FROM summaries_hourly WHERE hour_ns < ?", now - policy.rollups.nanoseconds))
            // Finished alerts go with the events; pending ones stay until delivered.
            try db.execute(FleetSchema.expireAlerts, eventsBefore)
            return result
        }
    }

    /// The receiver's counters (`received`, `conflicts`, `rejected.<code>`).
    public func counters() throws -> [String: Int64] {
        try read { db in
            var out: [String: Int64] = [:]
            for row in try db.fetch("SELECT name, value FROM counters") {
                let name = try row.required("name", row.string)
                out[name] = row.int("value") ?? 0
            }
            return out
        }
    }
}
