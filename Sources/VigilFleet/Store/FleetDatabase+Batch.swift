import VigilFleetCore

/// A batch's events and summaries in a few multi-row statements (not one per message): over PostgreSQL each
/// statement is a round trip, and a batch holds up to `--max-batch` messages.
extension FleetDatabase {
    /// Rows per statement: 500 × 13 arguments stays under SQLite's 32,766 and PostgreSQL's 65,535.
    static var rowsPerStatement: Int { 500 }

    /// The events, once per (device, seq); returns how many were new.
    func insertEvents(_ events: [StoredEvent], _ db: any SQLSession) throws -> Int {
        var inserted = 0
        for start in stride(from: 0, to: events.count, by: Self.rowsPerStatement) {
            let chunk = events[start..<min(start + Self.rowsPerStatement, events.count)]
            let args: [any SQLBindable] = chunk.flatMap { e -> [any SQLBindable] in
                [e.device, e.seq, e.kind, e.event, e.subject, e.tsNanos, e.receivedNanos, e.payload]
            }
            inserted += try db.execute(FleetSchema.insertEvents(chunk.count), args.map(\.sqlValue))
        }
        return inserted
    }

    /// The summaries, once per (device, seq), and the new ones rolled up: one upsert per (device, channel, hour).
    func insertSummaries(_ summaries: [StoredSummary], _ db: any SQLSession) throws {
        var hours: [HourKey: HourRollUp] = [:]
        for start in stride(from: 0, to: summaries.count, by: Self.rowsPerStatement) {
            let chunk = summaries[start..<min(start + Self.rowsPerStatement, summaries.count)]
            let args: [any SQLBindable] = chunk.flatMap { s -> [any SQLBindable] in
                let r = s.record
                return [s.device, s.seq, r.channel, r.unit, s.tsNanos, r.fromNanos, r.count, r.min, r.max, r.mean, r.std, r.anomalies, r.episodes]
            }
            let new = Set(try db.fetch(FleetSchema.insertSummaries(chunk.count), args.map(\.sqlValue)).map { "\($0["device"].text) \($0["seq"].text)" })
            // Rolled up only when new, so a summary counts once in its hour.
            for s in chunk where new.contains("\(s.device) \(s.seq.sqlValue.text)") {
                let h = HourlyContribution(s)
                hours[HourKey(device: s.device, channel: s.record.channel, hour: h.hourNanos), default: HourRollUp()].add(s.record, h)
            }
        }
        // In a fixed order, so two receivers writing one PostgreSQL lock the rows in the same order.
        for (k, h) in hours.sorted(by: { ($0.key.device, $0.key.channel, $0.key.hour) < ($1.key.device, $1.key.channel, $1.key.hour) }) {
            try db.execute(FleetSchema.rollUpSummary, k.device, k.channel, k.hour, h.summaries, h.count, h.min, h.max, h.sum, h.sumSquares,
                           h.anomalies, h.episodes)
        }
    }
}

private struct HourKey: Hashable { var device: String, channel: String, hour: Int64 }

/// A batch's contribution to one hourly roll-up row (min and max NULL-aware, as the upsert).
private struct HourRollUp {
    var summaries: Int64 = 0, count: Int64 = 0, min: Double?, max: Double?, sum = 0.0, sumSquares = 0.0, anomalies: Int64 = 0, episodes: Int64 = 0

    mutating func add(_ r: SummaryRecord, _ h: HourlyContribution) {
        summaries += 1; count += r.count; sum += h.sum; sumSquares += h.sumSquares; anomalies += r.anomalies; episodes += r.episodes
        if let m = r.min { min = Swift.min(min ?? m, m) }
        if let m = r.max { max = Swift.max(max ?? m, m) }
    }
}
