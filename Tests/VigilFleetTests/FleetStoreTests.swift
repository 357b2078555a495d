import Foundation
import GRDB
import Testing
import VigilCore
import VigilFleet
import VigilFleetCore
import VigilTestSupport

/// A fresh database file in a temporary directory, removed afterwards.
final class TemporaryDatabase {
    let directory: URL
    var path: String { directory.appendingPathComponent("fleet.db").path }

    static func text(_ v: DatabaseValue) -> String {
        switch v.storage {
        case .null: return "NULL"
        case .int64(let i): return "\(i)"
        case .double(let d): return "\(d)"
        case .string(let s): return s
        case .blob(let b): return "<\(b.count) bytes>"
        }
    }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-fleet-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Rows of `sql` as arrays of their columns' text (NULL as "NULL"), to compare exactly.
    func rows(_ sql: String) throws -> [[String]] {
        let q = try DatabaseQueue(path: path)
        return try q.read { db in
            try Row.fetchAll(db, sql: sql).map { row in row.databaseValues.map(Self.text) }
        }
    }
}

@Suite struct FleetStoreTests {
    var state = FleetState(decoder: MessageDecoder())
    /// Set by `use(_:)`, at the start of each test.
    var db: StoreFixture!
    var store: any FleetDatabase { db.store }

    /// Every test runs against each store kind; PostgreSQL's only where it is installed or required.
    static let kinds: [StoreKind] = [.sqlite] + (PostgresServer.shouldRun ? [.postgres] : [])

    mutating func use(_ kind: StoreKind) throws { db = try StoreFixture(kind) }

    mutating func send(_ topic: String, _ payload: String, retained: Bool = false, at t: Int64 = 1_000) {
        state.ingest(topic: "vigil/" + topic, payload: Array(payload.utf8), retained: retained, receivedNanos: t)
    }

    @discardableResult
    mutating func commit() throws -> CommitResult { try store.commit(state.takeChanges()) }

    @Test(arguments: FleetStoreTests.kinds) mutating func versionedMigrationsAppliedOnce(_ kind: StoreKind) throws {
        try use(kind)
        let ids = FleetSchema.migrations.map { $0.id }
        #expect(try store.appliedMigrations() == ids)
        // Opening again applies nothing twice.
        #expect(try db.reopen().appliedMigrations() == ids)
        let tables = kind == .sqlite
            ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb%' ORDER BY name"
            : "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'fleet_migrations' ORDER BY 1"
        #expect(try db.rows(tables).map { $0[0] }
                == ["acknowledgements", "alerts", "counters", "devices", "events", "gaps", "health_problems", "open_episodes", "sources", "summaries", "summaries_hourly"])
    }

    @Test func sqliteIsOneFileInWALMode() throws {
        let file = try TemporaryDatabase()
        _ = try SQLiteFleetStore(path: file.path)
        #expect(try file.rows("PRAGMA journal_mode") == [["wal"]])
    }

    /// Skipped, saying why, when PostgreSQL is missing (the cases above then ran against SQLite only).
    @Test(.enabled(if: PostgresServer.shouldRun, "\(PostgresServer.missing): the store tests ran against SQLite only"))
    func storeTestsRanAgainstPostgreSQL() { #expect(Self.kinds.contains(.postgres)) }

    @Test(arguments: FleetStoreTests.kinds) mutating func eventsOnceDuplicatesCountedEpisodesHealthSources(_ kind: StoreKind) throws {
        try use(kind)
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1))
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start"))
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start"))
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 2, "start"))
        try commit()
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start"))   // again, next batch
        send("gw-1/health", FleetPayloads.source("gw-1", 3, up: false))
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 4, "end"))
        send("gw-1/anomaly/humidity", FleetPayloads.anomaly("gw-1", 5, "start", channel: "humidity", episode: 7))
        send("nope/x", "{}")
        #expect(try commit() == CommitResult(inserted: 3, conflicts: 0))
        #expect(try db.rows("SELECT device, seq, kind, event, subject, received_ns FROM events ORDER BY seq") == [
            ["gw-1", "1", "anomaly", "start", "temperature", "1000"],
            ["gw-1", "2", "health", "start", "temperature", "1000"],
            ["gw-1", "3", "source", "down", "esp8266", "1000"],
            ["gw-1", "4", "anomaly", "end", "temperature", "1000"],
            ["gw-1", "5", "anomaly", "start", "humidity", "1000"],
        ])
        #expect(try db.rows("SELECT payload FROM events WHERE seq = 1") == [[FleetPayloads.anomaly("gw-1", 1, "start")]])
        #expect(try db.rows("SELECT device, state, messages, stored, duplicates, births, version FROM devices")
                == [["gw-1", "online", "7", "5", "2", "1", "0.1.0"]])
        #expect(try db.rows("SELECT device, subject, episode, start_seq, detector, z FROM open_episodes")
                == [["gw-1", "humidity", "7", "5", "zscore", "6.104"]])
        #expect(try db.rows("SELECT device, channel, check_name, start_seq FROM health_problems") == [["gw-1", "temperature", "stuck", "2"]])
        #expect(try db.rows("SELECT device, source, up, path, reason, seq FROM sources") == [["gw-1", "esp8266", "0", "/dev/ttyUSB0", "hang-up", "3"]])
        #expect(try db.rows("SELECT name, value FROM counters ORDER BY name") == [["received", "9"], ["rejected.foreign_topic", "1"]])
    }

    @Test(arguments: FleetStoreTests.kinds) mutating func gapsAreStoredWithTheirStates(_ kind: StoreKind) throws {
        try use(kind)
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1), at: 5)
        for seq: UInt64 in [1, 2, 4] { send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", seq), at: 6) }
        send("gw-1/health", FleetPayloads.agent("gw-1", 5, outbox: 1))
        send("gw-1/health", FleetPayloads.agent("gw-1", 6, outbox: 0))
        send("gw-1/status", FleetPayloads.will("gw-1"), at: 7)
        try commit()
        #expect(try db.rows("SELECT state, clean_offline, lost, skipped, open_seqs FROM devices") == [["offline", "0", "1", "0", "0"]])
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1001), at: 8)
        send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 1003), at: 9)
        try commit()
        #expect(try db.rows("SELECT device, first_seq, last_seq, state, opened_ns FROM gaps ORDER BY first_seq") == [
            ["gw-1", "3", "3", "lost", "6"], ["gw-1", "7", "1000", "skipped", "8"], ["gw-1", "1001", "1002", "open", "9"],
        ])
        #expect(try db.rows("SELECT state, lost, skipped, open_seqs, seq_floor, seq_next, run_start, health_seqs FROM devices")
                == [["online", "1", "994", "2", "1", "1004", "1001", "5,6"]])
    }

    @Test(arguments: FleetStoreTests.kinds) mutating func summariesRollUpPerHourOnceEach(_ kind: StoreKind) throws {
        try use(kind)
        // Two summaries in the hour of 11:00 (ts 11:40:00.123), one of them twice, and one in the next hour.
        send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 1, count: 60, mean: 20))
        send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 2, count: 40, mean: 25))
        send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 2, count: 40, mean: 25))
        try commit()
        let later = FleetPayloads.summary("gw-1", 3).replacingOccurrences(of: "\"ts\":\"2026-11-23T11:40", with: "\"ts\":\"2026-11-23T12:00")
        send("gw-1/summary/temperature", later)
        try commit()
        let hour = Timestamp.parse("2026-11-23T11:00:00Z")!
        // Σx = 60·20 + 40·25 = 2200; Σx² = (1.5²·59 + 60·400) + (1.5²·39 + 40·625) = 24132.75 + 25087.75
        #expect(try db.rows("SELECT hour_ns, summaries, count, min, max, sum, sum_squares, anomalies, episodes FROM summaries_hourly ORDER BY hour_ns") == [
            ["\(hour)", "2", "100", "21.5", "31.2", "2200.0", "49220.5", "2", "2"],
            ["\(hour + 3_600_000_000_000)", "1", "60", "21.5", "31.2", "1350.0", "30507.75", "1", "1"],
        ])
        #expect(try db.rows("SELECT seq, channel, count, mean FROM summaries ORDER BY seq") == [
            ["1", "temperature", "60", "20.0"], ["2", "temperature", "40", "25.0"], ["3", "temperature", "60", "22.5"],
        ])
    }

    @Test(arguments: FleetStoreTests.kinds) mutating func retentionKeepsRollupsLonger(_ kind: StoreKind) throws {
        try use(kind)
        let day: Int64 = 86_400_000_000_000
        let ts = Timestamp.parse(FleetPayloads.ts)!
        send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 1), at: ts)
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 2, "start"), at: ts + 40 * day)
        try commit()
        let policy = RetentionPolicy(events: ConfigDuration(parsing: "30d")!, rollups: ConfigDuration(parsing: "400d")!)
        #expect(try store.applyRetention(policy, now: ts + 41 * day) == RetentionResult(events: 1, summaries: 1, rollups: 0))
        #expect(try db.rows("SELECT seq FROM events") == [["2"]])
        #expect(try db.rows("SELECT count(*) FROM summaries_hourly") == [["1"]])
        #expect(try store.applyRetention(policy, now: ts + 401 * day) == RetentionResult(events: 1, summaries: 0, rollups: 1))
    }

    @Test(arguments: FleetStoreTests.kinds) mutating func stateSurvivesAReopen(_ kind: StoreKind) throws {
        try use(kind)
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1))
        for seq: UInt64 in [1, 3, 4] { send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", seq)) }
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 5, "start"))
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 6, "start"))
        send("gw-1/health", FleetPayloads.source("gw-1", 7, up: false))
        send("gw-1/health", FleetPayloads.agent("gw-1", 8, outbox: 2))
        send("gw-1/summary/x", "not json")
        try commit()
        var reopened = try db.reopen().loadState(decoder: MessageDecoder())
        #expect(reopened.devices == state.devices)
        #expect(reopened.openEpisodes == state.openEpisodes)
        #expect(reopened.openHealth == state.openHealth)
        #expect(reopened.sources == state.sources)
        #expect(reopened.rejections == ["malformed_json": 1])
        // The reloaded ledger goes on where it was: 2 fills the gap, 3 is a duplicate.
        #expect(reopened.ingest(topic: "vigil/gw-1/summary/temperature", payload: Array(FleetPayloads.summary("gw-1", 2).utf8),
                                retained: false, receivedNanos: 2) == .stored(.filled(.open)))
        #expect(reopened.ingest(topic: "vigil/gw-1/summary/temperature", payload: Array(FleetPayloads.summary("gw-1", 3).utf8),
                                retained: false, receivedNanos: 2) == .duplicate)
    }

    @Test(arguments: FleetStoreTests.kinds) mutating func eventsTheStoreHasAlreadyAreConflictsNotRows(_ kind: StoreKind) throws {
        try use(kind)
        send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 10))
        try commit()
        // A second receiver state that never saw 10 (its history starts later) meets it again.
        var other = FleetState(decoder: MessageDecoder())
        other.ingest(topic: "vigil/gw-1/summary/temperature", payload: Array(FleetPayloads.summary("gw-1", 12).utf8), retained: false, receivedNanos: 1)
        other.ingest(topic: "vigil/gw-1/summary/temperature", payload: Array(FleetPayloads.summary("gw-1", 10).utf8), retained: false, receivedNanos: 1)
        #expect(try store.commit(other.takeChanges()) == CommitResult(inserted: 1, conflicts: 1))
        #expect(try db.rows("SELECT seq FROM events ORDER BY seq") == [["10"], ["12"]])
        #expect(try db.rows("SELECT value FROM counters WHERE name = 'conflicts'") == [["1"]])
        #expect(try db.rows("SELECT summaries FROM summaries_hourly") == [["2"]])
    }
}
