import GRDB
import VigilCore
import VigilFleetCore

/// What the JSON API shows: rows read from the store, times as RFC 3339 UTC with milliseconds.
public enum FleetView {
    public struct Device: Encodable, Sendable, Equatable {
        public var device: String
        public var state: String
        public var stateSince: String
        public var cleanOffline: Bool?
        public var lastSeen: String
        public var version: String?
        public var openAnomalies: Int
        public var healthProblems: Int
        public var sourcesDown: Int
        public var stored: Int64
        public var duplicates: Int64
        public var lost: Int64
        public var skipped: Int64
        public var openSeqs: Int64
    }

    public struct Gap: Encodable, Sendable, Equatable {
        public var first: Int64, last: Int64, state: String, opened: String
    }
    public struct Episode: Encodable, Sendable, Equatable {
        public var device: String, subject: String, episode: Int64, startSeq: Int64, started: String, detector: String, z: Double?
        /// Absent until someone with the write role acknowledged the episode.
        public var acknowledged: Acknowledgement?
    }
    /// Who acknowledged an open anomaly episode (a user or token name), when, and their note.
    public struct Acknowledgement: Encodable, Sendable, Equatable {
        public var by: String, at: String, note: String
    }
    public struct HealthProblem: Encodable, Sendable, Equatable {
        public var channel: String, check: String, startSeq: Int64, started: String
    }
    public struct Source: Encodable, Sendable, Equatable {
        public var source: String, up: Bool, since: String, path: String, reason: String
    }
    public struct DeviceDetail: Encodable, Sendable, Equatable {
        public var device: Device
        public var gaps: [Gap]
        public var openEpisodes: [Episode]
        public var healthProblems: [HealthProblem]
        public var sources: [Source]
    }
    public struct Event: Encodable, Sendable, Equatable {
        public var seq: Int64, kind: String, event: String, subject: String, ts: String, received: String
        /// The payload as the device sent it.
        public var payload: JSONValue
    }
    public struct Hour: Encodable, Sendable, Equatable {
        public var hour: String, summaries: Int64, count: Int64, min: Double?, max: Double?, mean: Double?, std: Double?
    }
}

extension SQLiteFleetStore {
    private static func time(_ ns: Int64) -> String { Timestamp.rfc3339(ns) }

    private static let deviceColumns = """
        d.device, d.state, d.state_since_ns, d.clean_offline, d.last_seen_ns, d.version, d.stored, d.duplicates, d.lost, d.skipped, d.open_seqs,
        (SELECT count(*) FROM open_episodes e WHERE e.device = d.device) AS open_anomalies,
        (SELECT count(*) FROM health_problems h WHERE h.device = d.device) AS health_problems,
        (SELECT count(*) FROM sources s WHERE s.device = d.device AND NOT s.up) AS sources_down
        """

    private static func device(_ row: Row) -> FleetView.Device {
        FleetView.Device(device: row["device"], state: row["state"], stateSince: time(row["state_since_ns"]),
                         cleanOffline: row["clean_offline"], lastSeen: time(row["last_seen_ns"]), version: row["version"],
                         openAnomalies: row["open_anomalies"], healthProblems: row["health_problems"], sourcesDown: row["sources_down"],
                         stored: row["stored"], duplicates: row["duplicates"], lost: row["lost"], skipped: row["skipped"],
                         openSeqs: row["open_seqs"])
    }

    /// Every device: open anomalies first, then sick sensors, then by name.
    public func devices() throws -> [FleetView.Device] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.deviceColumns) FROM devices d ORDER BY open_anomalies DESC, health_problems DESC, device")
                .map(Self.device)
        }
    }

    /// One device with its gaps, open episodes, health problems and sources; nil when unknown.
    public func device(_ name: String) throws -> FleetView.DeviceDetail? {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.deviceColumns) FROM devices d WHERE device = ?", arguments: [name]) else {
                return nil
            }
            let gaps = try Row.fetchAll(db, sql: "SELECT * FROM gaps WHERE device = ? ORDER BY first_seq", arguments: [name]).map {
                FleetView.Gap(first: $0["first_seq"], last: $0["last_seq"], state: $0["state"], opened: Self.time($0["opened_ns"]))
            }
            let episodes = try Row.fetchAll(db, sql: "\(FleetSchema.episodesWithAcknowledgement) WHERE o.device = ? ORDER BY o.start_seq",
                                            arguments: [name])
                .map(Self.episode)
            let health = try Row.fetchAll(db, sql: "SELECT * FROM health_problems WHERE device = ? ORDER BY start_seq", arguments: [name]).map {
                FleetView.HealthProblem(channel: $0["channel"], check: $0["check_name"], startSeq: $0["start_seq"], started: Self.time($0["started_ns"]))
            }
            let sources = try Row.fetchAll(db, sql: "SELECT * FROM sources WHERE device = ? ORDER BY source", arguments: [name]).map {
                FleetView.Source(source: $0["source"], up: $0["up"], since: Self.time($0["since_ns"]), path: $0["path"], reason: $0["reason"])
            }
            return FleetView.DeviceDetail(device: Self.device(row), gaps: gaps, openEpisodes: episodes, healthProblems: health, sources: sources)
        }
    }

    /// A row of `FleetSchema.episodesWithAcknowledgement`.
    static func episode(_ row: Row) -> FleetView.Episode {
        let by: String? = row["acknowledged_by"]
        return FleetView.Episode(device: row["device"], subject: row["subject"], episode: row["episode"], startSeq: row["start_seq"],
                                 started: time(row["started_ns"]), detector: row["detector"], z: row["z"],
                                 acknowledged: by.map { FleetView.Acknowledgement(by: $0, at: time(row["acknowledged_ns"]), note: row["note"]) })
    }

    /// Open anomaly episodes of the whole fleet, oldest first.
    public func openEpisodes() throws -> [FleetView.Episode] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "\(FleetSchema.episodesWithAcknowledgement) ORDER BY o.started_ns, o.device, o.subject").map(Self.episode)
        }
    }

    /// Acknowledges the open episode `episode` of `device`'s `subject` as `caller` at `now`, unless it is
    /// acknowledged already (the first acknowledgement stays). The episode as it is then; nil when it is not open.
    public func acknowledge(device: String, subject: String, episode: Int64, by caller: String, note: String,
                            now: Int64) throws -> FleetView.Episode? {
        try pool.write { db in
            try db.execute(sql: FleetSchema.insertAcknowledgement, arguments: [caller, now, note, device, subject, episode])
            return try Row.fetchOne(db, sql: "\(FleetSchema.episodesWithAcknowledgement) WHERE o.device = ? AND o.subject = ? AND o.episode = ?",
                                    arguments: [device, subject, episode]).map(Self.episode)
        }
    }

    /// A device's events, newest first: of one `kind` when given, below `beforeSeq` when given.
    public func events(device: String, kind: String?, beforeSeq: Int64?, limit: Int) throws -> [FleetView.Event] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT seq, kind, event, subject, ts_ns, received_ns, payload FROM events
                WHERE device = ? AND (? IS NULL OR kind = ?) AND (? IS NULL OR seq < ?) ORDER BY seq DESC LIMIT ?
                """, arguments: [device, kind, kind, beforeSeq, beforeSeq, limit]).map { row in
                // Stored payloads passed the parser on the way in.
                let payload = (try? JSONParser.parse(Array((row["payload"] as String).utf8))) ?? .null
                return FleetView.Event(seq: row["seq"], kind: row["kind"], event: row["event"], subject: row["subject"],
                                       ts: Self.time(row["ts_ns"]), received: Self.time(row["received_ns"]), payload: payload)
            }
        }
    }

    /// A channel's hourly roll-ups, oldest first, with mean and sample standard deviation of the readings.
    public func hours(device: String, channel: String) throws -> [FleetView.Hour] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM summaries_hourly WHERE device = ? AND channel = ? ORDER BY hour_ns",
                             arguments: [device, channel]).map { row in
                let n = Double(row["count"] as Int64)
                let sum: Double = row["sum"], squares: Double = row["sum_squares"]
                let mean = n > 0 ? sum / n : nil
                let variance = n > 1 ? max(0, (squares - sum * sum / n) / (n - 1)) : nil
                return FleetView.Hour(hour: Self.time(row["hour_ns"]), summaries: row["summaries"], count: row["count"],
                                      min: row["min"], max: row["max"], mean: mean, std: variance.map { $0.squareRoot() })
            }
        }
    }
}
