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

extension FleetDatabase {
    private static func time(_ ns: Int64?) -> String { Timestamp.rfc3339(ns ?? 0) }

    private static var deviceColumns: String { """
        d.device, d.state, d.state_since_ns, d.clean_offline, d.last_seen_ns, d.version, d.stored, d.duplicates, d.lost, d.skipped, d.open_seqs,
        (SELECT count(*) FROM open_episodes e WHERE e.device = d.device) AS open_anomalies,
        (SELECT count(*) FROM health_problems h WHERE h.device = d.device) AS health_problems,
        (SELECT count(*) FROM sources s WHERE s.device = d.device AND NOT s.up) AS sources_down
        """ }

    private static func device(_ row: SQLRow) -> FleetView.Device {
        FleetView.Device(device: row["device"].text, state: row["state"].text, stateSince: time(row.int("state_since_ns")),
                         cleanOffline: row.bool("clean_offline"), lastSeen: time(row.int("last_seen_ns")), version: row.string("version"),
                         openAnomalies: Int(row.int("open_anomalies") ?? 0), healthProblems: Int(row.int("health_problems") ?? 0),
                         sourcesDown: Int(row.int("sources_down") ?? 0), stored: row.int("stored") ?? 0, duplicates: row.int("duplicates") ?? 0,
                         lost: row.int("lost") ?? 0, skipped: row.int("skipped") ?? 0, openSeqs: row.int("open_seqs") ?? 0)
    }

    /// Every device: open anomalies first, then sick sensors, then by name.
    public func devices() throws -> [FleetView.Device] {
        try read { db in
            try db.fetch("SELECT \(Self.deviceColumns) FROM devices d ORDER BY open_anomalies DESC, health_problems DESC, device")
                .map(Self.device)
        }
    }

    /// One device with its gaps, open episodes, health problems and sources; nil when unknown.
    public func device(_ name: String) throws -> FleetView.DeviceDetail? {
        try read { db in
            guard let row = try db.fetch("SELECT \(Self.deviceColumns) FROM devices d WHERE device = ?", name).first else {
                return nil
            }
            let gaps = try db.fetch("SELECT * FROM gaps WHERE device = ? ORDER BY first_seq", name).map {
                FleetView.Gap(first: $0.int("first_seq") ?? 0, last: $0.int("last_seq") ?? 0, state: $0["state"].text,
                              opened: Self.time($0.int("opened_ns")))
            }
            let episodes = try db.fetch("\(FleetSchema.episodesWithAcknowledgement) WHERE o.device = ? ORDER BY o.start_seq", name)
                .map(Self.episode)
            let health = try db.fetch("SELECT * FROM health_problems WHERE device = ? ORDER BY start_seq", name).map {
                FleetView.HealthProblem(channel: $0["channel"].text, check: $0["check_name"].text, startSeq: $0.int("start_seq") ?? 0,
                                        started: Self.time($0.int("started_ns")))
            }
            let sources = try db.fetch("SELECT * FROM sources WHERE device = ? ORDER BY source", name).map {
                FleetView.Source(source: $0["source"].text, up: $0.bool("up") ?? false, since: Self.time($0.int("since_ns")),
                                 path: $0["path"].text, reason: $0["reason"].text)
            }
            return FleetView.DeviceDetail(device: Self.device(row), gaps: gaps, openEpisodes: episodes, healthProblems: health, sources: sources)
        }
    }

    /// A row of `FleetSchema.episodesWithAcknowledgement`.
    static func episode(_ row: SQLRow) -> FleetView.Episode {
        FleetView.Episode(device: row["device"].text, subject: row["subject"].text, episode: row.int("episode") ?? 0,
                          startSeq: row.int("start_seq") ?? 0, started: Self.time(row.int("started_ns")), detector: row["detector"].text,
                          z: row.double("z"),
                          acknowledged: row.string("acknowledged_by").map {
                              FleetView.Acknowledgement(by: $0, at: Self.time(row.int("acknowledged_ns")), note: row["note"].text)
                          })
    }

    /// Open anomaly episodes of the whole fleet, oldest first.
    public func openEpisodes() throws -> [FleetView.Episode] {
        try read { db in
            try db.fetch("\(FleetSchema.episodesWithAcknowledgement) ORDER BY o.started_ns, o.device, o.subject").map(Self.episode)
        }
    }

    /// Acknowledges the open episode `episode` of `device`'s `subject` as `caller` at `now`, unless it is
    /// acknowledged already (the first acknowledgement stays). The episode as it is then; nil when it is not open.
    public func acknowledge(device: String, subject: String, episode: Int64, by caller: String, note: String,
                            now: Int64) throws -> FleetView.Episode? {
        try write { db in
            try db.execute(FleetSchema.insertAcknowledgement, caller, now, note, device, subject, episode)
            return try db.fetch("\(FleetSchema.episodesWithAcknowledgement) WHERE o.device = ? AND o.subject = ? AND o.episode = ?",
                                device, subject, episode).first.map(Self.episode)
        }
    }

    /// A device's events, newest first: of one `kind` when given, below `beforeSeq` when given.
    public func events(device: String, kind: String?, beforeSeq: Int64?, limit: Int) throws -> [FleetView.Event] {
        // Conditions only for what is given: PostgreSQL cannot type a parameter that is only compared with NULL.
        var conditions = ["device = ?"], arguments: [SQLValue] = [.text(device)]
        if let kind { conditions.append("kind = ?"); arguments.append(.text(kind)) }
        if let beforeSeq { conditions.append("seq < ?"); arguments.append(.integer(beforeSeq)) }
        arguments.append(.integer(Int64(limit)))
        return try read { db in
            try db.fetch("""
                SELECT seq, kind, event, subject, ts_ns, received_ns, payload FROM events
                WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq DESC LIMIT ?
                """, arguments).map { row in
                // Stored payloads passed the parser on the way in.
                let payload = (try? JSONParser.parse(Array(row["payload"].text.utf8))) ?? .null
                return FleetView.Event(seq: row.int("seq") ?? 0, kind: row["kind"].text, event: row["event"].text, subject: row["subject"].text,
                                       ts: Self.time(row.int("ts_ns")), received: Self.time(row.int("received_ns")), payload: payload)
            }
        }
    }

    /// A channel's hourly roll-ups, oldest first, with mean and sample standard deviation of the readings.
    public func hours(device: String, channel: String) throws -> [FleetView.Hour] {
        try read { db in
            try db.fetch("SELECT * FROM summaries_hourly WHERE device = ? AND channel = ? ORDER BY hour_ns", device, channel).map { row in
                let count = row.int("count") ?? 0
                let n = Double(count)
                let sum = row.double("sum") ?? 0, squares = row.double("sum_squares") ?? 0
                let mean = n > 0 ? sum / n : nil
                let variance = n > 1 ? max(0, (squares - sum * sum / n) / (n - 1)) : nil
                return FleetView.Hour(hour: Self.time(row.int("hour_ns")), summaries: row.int("summaries") ?? 0, count: count,
                                      min: row.double("min"), max: row.double("max"), mean: mean, std: variance.map { $0.squareRoot() })
            }
        }
    }
}
