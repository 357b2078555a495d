import GRDB
import VigilCore
import VigilFleetCore

/// The embedded store: one SQLite file in WAL mode through GRDB, one transaction per batch,
/// `synchronous = FULL` so that a committed batch survives a power cut (the receiver acknowledges
/// messages to the broker only after their batch is committed).
public final class SQLiteFleetStore: FleetStore {
    public let path: String
    let pool: DatabasePool

    /// Opens (creating if needed) and migrates the database at `path`.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            var migrator = DatabaseMigrator()
            for m in FleetSchema.migrations {
                migrator.registerMigration(m.id) { db in
                    for statement in m.statements { try db.execute(sql: statement) }
                }
            }
            try migrator.migrate(pool)
        } catch {
            throw FleetStoreError("cannot open the fleet database \(path): \(error)")
        }
    }

    /// The applied migrations, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid") }
    }

    public func commit(_ c: ChangeSet) throws -> CommitResult {
        try pool.write { db in
            var inserted = 0
            let events = try db.cachedStatement(sql: FleetSchema.insertEvent)
            for e in c.events {
                try events.execute(arguments: [e.device, Int64(e.seq), e.kind, e.event, e.subject, e.tsNanos, e.receivedNanos, e.payload])
                inserted += db.changesCount
            }
            let summaries = try db.cachedStatement(sql: FleetSchema.insertSummary)
            let rollUp = try db.cachedStatement(sql: FleetSchema.rollUpSummary)
            for s in c.summaries {
                let r = s.record
                try summaries.execute(arguments: [s.device, Int64(s.seq), r.channel, r.unit, s.tsNanos, r.fromNanos, r.count,
                                                  r.min, r.max, r.mean, r.std, r.anomalies, r.episodes])
                // Rolled up only when new, so a summary counts once in its hour.
                guard db.changesCount == 1 else { continue }
                let h = HourlyContribution(s)
                try rollUp.execute(arguments: [s.device, r.channel, h.hourNanos, r.count, r.min, r.max, h.sum, h.sumSquares,
                                               r.anomalies, r.episodes])
            }
            for d in c.devices { try write(d, db) }
            let upsertEpisode = try db.cachedStatement(sql: FleetSchema.upsertEpisode)
            for (k, e) in c.episodes.sorted(by: { $0.key < $1.key }) {
                if let e {
                    try upsertEpisode.execute(arguments: [k.device, k.subject, k.episode, Int64(e.startSeq), e.startedNanos, e.detector, e.z])
                } else {
                    try db.execute(sql: "DELETE FROM open_episodes WHERE device = ? AND subject = ? AND episode = ?",
                                   arguments: [k.device, k.subject, k.episode])
                }
            }
            let upsertHealth = try db.cachedStatement(sql: FleetSchema.upsertHealth)
            for (k, h) in c.health.sorted(by: { $0.key < $1.key }) {
                if let h {
                    try upsertHealth.execute(arguments: [k.device, k.channel, k.check, Int64(h.startSeq), h.startedNanos])
                } else {
                    try db.execute(sql: "DELETE FROM health_problems WHERE device = ? AND channel = ? AND check_name = ?",
                                   arguments: [k.device, k.channel, k.check])
                }
            }
            let upsertSource = try db.cachedStatement(sql: FleetSchema.upsertSource)
            for s in c.sources {
                try upsertSource.execute(arguments: [s.key.device, s.key.source, s.up, s.sinceNanos, s.path, s.reason, Int64(s.seq)])
            }
            try insertAlerts(c.alerts, db)
            let conflicts = c.events.count - inserted
            let counters = try db.cachedStatement(sql: FleetSchema.addCounter)
            var deltas = c.rejections.map { ("rejected." + $0.key, $0.value) }
            deltas.append(("received", c.received))
            if conflicts > 0 { deltas.append(("conflicts", Int64(conflicts))) }
            for (name, value) in deltas.sorted(by: { $0.0 < $1.0 }) where value != 0 {
                try counters.execute(arguments: [name, value])
            }
            return CommitResult(inserted: inserted, conflicts: conflicts)
        }
    }

    /// The device's row and its gaps (replaced whole: a ledger holds at most `SeqLedger.maxGaps`).
    private func write(_ d: DeviceRecord, _ db: Database) throws {
        let l = d.ledger
        let args: [(any DatabaseValueConvertible)?] = [
            d.device, d.state.rawValue, d.stateSinceNanos, d.cleanOffline, d.firstSeenNanos, d.lastSeenNanos, d.version,
            d.lastBirth.map { Int64($0.firstSeq) }, d.lastBirth?.startedNanos, d.lastBirthReceivedNanos, d.births, d.messages,
            d.stored, l.duplicates, l.filled, l.recovered, l.beforeHistory, l.lost, l.skipped, l.open, l.resets,
            l.floor.map { Int64($0) }, l.next.map { Int64($0) }, l.runStart.map { Int64($0) }, l.cleanStopSeq.map { Int64($0) },
            l.healthSeqs.map(String.init).joined(separator: ","),
        ]
        try db.cachedStatement(sql: FleetSchema.upsertDevice).execute(arguments: StatementArguments(args))
        try db.execute(sql: "DELETE FROM gaps WHERE device = ?", arguments: [d.device])
        let insertGap = try db.cachedStatement(sql: "INSERT INTO gaps (device, first_seq, last_seq, state, opened_ns) VALUES (?, ?, ?, ?, ?)")
        for g in l.gaps {
            try insertGap.execute(arguments: [d.device, Int64(g.first), Int64(g.last), g.state.rawValue, g.openedNanos])
        }
    }

    public func applyRetention(_ policy: RetentionPolicy, now: Int64) throws -> RetentionResult {
        try pool.write { db in
            let eventsBefore = now - policy.events.nanoseconds
            try db.execute(sql: "DELETE FROM events WHERE received_ns < ?", arguments: [eventsBefore])
            let events = db.changesCount
            try db.execute(sql: "DELETE FROM summaries WHERE ts_ns < ?", arguments: [eventsBefore])
            let summaries = db.changesCount
            try db.execute(sql: "DELETE FROM summaries_hourly WHERE hour_ns < ?", arguments: [now - policy.rollups.nanoseconds])
            let rollups = db.changesCount
            try db.execute(sql: FleetSchema.expireAlerts, arguments: [eventsBefore])
            return RetentionResult(events: events, summaries: summaries, rollups: rollups)
        }
    }
}
