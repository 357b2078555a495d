/// The fleet store's schema, as versioned migrations. The SQL is the subset SQLite and PostgreSQL share
/// (BIGINT, TEXT, DOUBLE PRECISION, BOOLEAN, composite primary keys, `ON CONFLICT`), so a PostgreSQL store
/// runs the same statements. Times are Unix-epoch nanoseconds (`*_ns`); sequence numbers fit a BIGINT.
public enum FleetSchema {
    /// (id, statements), applied in order, each once.
    public static let migrations: [(id: String, statements: [String])] = [("v1", v1), ("v2", v2), ("v3", v3)]

    static let v1: [String] = [
        // One row per device: the registry and the sequence ledger's scalars (its gaps are in `gaps`).
        """
        CREATE TABLE devices (
            device TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            state_since_ns BIGINT NOT NULL,
            clean_offline BOOLEAN,
            first_seen_ns BIGINT NOT NULL,
            last_seen_ns BIGINT NOT NULL,
            version TEXT,
            birth_first_seq BIGINT,
            birth_started_ns BIGINT,
            birth_received_ns BIGINT,
            births BIGINT NOT NULL,
            messages BIGINT NOT NULL,
            stored BIGINT NOT NULL,
            duplicates BIGINT NOT NULL,
            filled BIGINT NOT NULL,
            recovered BIGINT NOT NULL,
            before_history BIGINT NOT NULL,
            lost BIGINT NOT NULL,
            skipped BIGINT NOT NULL,
            open_seqs BIGINT NOT NULL,
            seq_resets BIGINT NOT NULL,
            seq_floor BIGINT,
            seq_next BIGINT,
            run_start BIGINT,
            clean_stop_seq BIGINT,
            health_seqs TEXT NOT NULL
        )
        """,
        // Every sequenced message once: duplicates are counted in `devices`, never stored.
        """
        CREATE TABLE events (
            device TEXT NOT NULL,
            seq BIGINT NOT NULL,
            kind TEXT NOT NULL,
            event TEXT NOT NULL,
            subject TEXT NOT NULL,
            ts_ns BIGINT NOT NULL,
            received_ns BIGINT NOT NULL,
            payload TEXT NOT NULL,
            PRIMARY KEY (device, seq)
        )
        """,
        "CREATE INDEX events_received ON events (received_ns)",
        "CREATE INDEX events_device_ts ON events (device, ts_ns)",
        """
        CREATE TABLE gaps (
            device TEXT NOT NULL,
            first_seq BIGINT NOT NULL,
            last_seq BIGINT NOT NULL,
            state TEXT NOT NULL,
            opened_ns BIGINT NOT NULL,
            PRIMARY KEY (device, first_seq)
        )
        """,
        """
        CREATE TABLE open_episodes (
            device TEXT NOT NULL,
            subject TEXT NOT NULL,
            episode BIGINT NOT NULL,
            start_seq BIGINT NOT NULL,
            started_ns BIGINT NOT NULL,
            detector TEXT NOT NULL,
            z DOUBLE PRECISION,
            PRIMARY KEY (device, subject, episode)
        )
        """,
        """
        CREATE TABLE health_problems (
            device TEXT NOT NULL,
            channel TEXT NOT NULL,
            check_name TEXT NOT NULL,
            start_seq BIGINT NOT NULL,
            started_ns BIGINT NOT NULL,
            PRIMARY KEY (device, channel, check_name)
        )
        """,
        """
        CREATE TABLE sources (
            device TEXT NOT NULL,
            source TEXT NOT NULL,
            up BOOLEAN NOT NULL,
            since_ns BIGINT NOT NULL,
            path TEXT NOT NULL,
            reason TEXT NOT NULL,
            seq BIGINT NOT NULL,
            PRIMARY KEY (device, source)
        )
        """,
        """
        CREATE TABLE summaries (
            device TEXT NOT NULL,
            seq BIGINT NOT NULL,
            channel TEXT NOT NULL,
            unit TEXT NOT NULL,
            ts_ns BIGINT NOT NULL,
            from_ns BIGINT NOT NULL,
            count BIGINT NOT NULL,
            min DOUBLE PRECISION,
            max DOUBLE PRECISION,
            mean DOUBLE PRECISION,
            std DOUBLE PRECISION,
            anomalies BIGINT NOT NULL,
            episodes BIGINT NOT NULL,
            PRIMARY KEY (device, seq)
        )
        """,
        "CREATE INDEX summaries_channel_ts ON summaries (device, channel, ts_ns)",
        // Summaries rolled up per hour (by the summary's ts), kept longer than the summaries themselves:
        // sum and sum of squares give the hour's mean and standard deviation exactly.
        """
        CREATE TABLE summaries_hourly (
            device TEXT NOT NULL,
            channel TEXT NOT NULL,
            hour_ns BIGINT NOT NULL,
            summaries BIGINT NOT NULL,
            count BIGINT NOT NULL,
            min DOUBLE PRECISION,
            max DOUBLE PRECISION,
            sum DOUBLE PRECISION NOT NULL,
            sum_squares DOUBLE PRECISION NOT NULL,
            anomalies BIGINT NOT NULL,
            episodes BIGINT NOT NULL,
            PRIMARY KEY (device, channel, hour_ns)
        )
        """,
        // The receiver's own counters: rejections by code, messages received, store conflicts.
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    ]

    static let v2: [String] = [
        // Acknowledgements of anomaly episodes (the page's and API's only write). Keyed by the episode's start
        // seq too: an agent that restarts numbers episodes again, and a new episode must not look acknowledged.
        // Kept after the episode ends, as the record of who saw it.
        """
        CREATE TABLE acknowledgements (
            device TEXT NOT NULL,
            subject TEXT NOT NULL,
            episode BIGINT NOT NULL,
            start_seq BIGINT NOT NULL,
            acknowledged_by TEXT NOT NULL,
            acknowledged_ns BIGINT NOT NULL,
            note TEXT NOT NULL,
            PRIMARY KEY (device, subject, episode, start_seq)
        )
        """,
        // The device page reads a channel's anomaly and health events by (device, subject).
        "CREATE INDEX events_device_subject ON events (device, subject, seq)",
    ]

    static let insertAcknowledgement = """
        INSERT INTO acknowledgements (device, subject, episode, start_seq, acknowledged_by, acknowledged_ns, note)
        SELECT device, subject, episode, start_seq, ?, ?, ? FROM open_episodes WHERE device = ? AND subject = ? AND episode = ?
        ON CONFLICT (device, subject, episode, start_seq) DO NOTHING
        """
    /// `open_episodes` columns with the acknowledgement's, NULL when there is none.
    static let episodesWithAcknowledgement = """
        SELECT o.*, a.acknowledged_by, a.acknowledged_ns, a.note FROM open_episodes o LEFT JOIN acknowledgements a
        ON a.device = o.device AND a.subject = o.subject AND a.episode = o.episode AND a.start_seq = o.start_seq
        """

    static let upsertDevice = """
        INSERT INTO devices (device, state, state_since_ns, clean_offline, first_seen_ns, last_seen_ns, version,
            birth_first_seq, birth_started_ns, birth_received_ns, births, messages, stored, duplicates, filled, recovered,
            before_history, lost, skipped, open_seqs, seq_resets, seq_floor, seq_next, run_start, clean_stop_seq, health_seqs)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (device) DO UPDATE SET state = excluded.state, state_since_ns = excluded.state_since_ns,
            clean_offline = excluded.clean_offline, last_seen_ns = excluded.last_seen_ns, version = excluded.version,
            birth_first_seq = excluded.birth_first_seq, birth_started_ns = excluded.birth_started_ns,
            birth_received_ns = excluded.birth_received_ns, births = excluded.births, messages = excluded.messages,
            stored = excluded.stored, duplicates = excluded.duplicates, filled = excluded.filled,
            recovered = excluded.recovered, before_history = excluded.before_history, lost = excluded.lost,
            skipped = excluded.skipped, open_seqs = excluded.open_seqs, seq_resets = excluded.seq_resets, seq_floor = excluded.seq_floor,
            seq_next = excluded.seq_next, run_start = excluded.run_start, clean_stop_seq = excluded.clean_stop_seq,
            health_seqs = excluded.health_seqs
        """
    /// `rows` events in one statement (8 arguments each).
    static func insertEvents(_ rows: Int) -> String {
        "INSERT INTO events (device, seq, kind, event, subject, ts_ns, received_ns, payload) VALUES \(placeholders(rows, 8)) ON CONFLICT (device, seq) DO NOTHING"
    }
    /// `rows` summaries in one statement (13 arguments each), answering the (device, seq) of those that were new.
    static func insertSummaries(_ rows: Int) -> String {
        """
        INSERT INTO summaries (device, seq, channel, unit, ts_ns, from_ns, count, min, max, mean, std, anomalies, episodes)
        VALUES \(placeholders(rows, 13)) ON CONFLICT (device, seq) DO NOTHING RETURNING device, seq
        """
    }
    /// `(?, ?), (?, ?)` for rows × columns.
    static func placeholders(_ rows: Int, _ columns: Int) -> String {
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
        return Array(repeating: row, count: rows).joined(separator: ", ")
    }
    // NULL-aware min/max written with CASE: SQLite's min() returns NULL on a NULL argument, PostgreSQL's LEAST skips it.
    static let rollUpSummary = """
        INSERT INTO summaries_hourly (device, channel, hour_ns, summaries, count, min, max, sum, sum_squares, anomalies, episodes)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (device, channel, hour_ns) DO UPDATE SET
            summaries = summaries_hourly.summaries + excluded.summaries,
            count = summaries_hourly.count + excluded.count,
            min = CASE WHEN summaries_hourly.min IS NULL OR excluded.min < summaries_hourly.min THEN excluded.min ELSE summaries_hourly.min END,
            max = CASE WHEN summaries_hourly.max IS NULL OR excluded.max > summaries_hourly.max THEN excluded.max ELSE summaries_hourly.max END,
            sum = summaries_hourly.sum + excluded.sum,
            sum_squares = summaries_hourly.sum_squares + excluded.sum_squares,
            anomalies = summaries_hourly.anomalies + excluded.anomalies,
            episodes = summaries_hourly.episodes + excluded.episodes
        """
    static let upsertEpisode = """
        INSERT INTO open_episodes (device, subject, episode, start_seq, started_ns, detector, z) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (device, subject, episode) DO UPDATE SET start_seq = excluded.start_seq, started_ns = excluded.started_ns,
            detector = excluded.detector, z = excluded.z
        """
    static let upsertHealth = """
        INSERT INTO health_problems (device, channel, check_name, start_seq, started_ns) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (device, channel, check_name) DO UPDATE SET start_seq = excluded.start_seq, started_ns = excluded.started_ns
        """
    static let upsertSource = """
        INSERT INTO sources (device, source, up, since_ns, path, reason, seq) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (device, source) DO UPDATE SET up = excluded.up, since_ns = excluded.since_ns, path = excluded.path,
            reason = excluded.reason, seq = excluded.seq
        """
    static let addCounter = """
        INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value
        """
}
