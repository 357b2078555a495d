import VigilFleetCore

extension FleetDatabase {
    public func loadState(decoder: MessageDecoder) throws -> FleetState {
        try read { db in
            var gapsByDevice: [String: [Gap]] = [:]
            for row in try db.fetch("SELECT device, first_seq, last_seq, state, opened_ns FROM gaps ORDER BY device, first_seq") {
                let device = try row.required("device", row.string)
                guard let state = Gap.State(rawValue: row["state"].text) else {
                    throw FleetStoreError("\(location): gap of \(device) has state '\(row["state"].text)'")
                }
                gapsByDevice[device, default: []].append(
                    Gap(first: try row.seq("first_seq"), last: try row.seq("last_seq"), state: state,
                        openedNanos: try row.required("opened_ns", row.int)))
            }
            let devices = try db.fetch("SELECT * FROM devices").map { row -> DeviceRecord in
                let name = try row.required("device", row.string)
                var d = DeviceRecord(device: name, now: try row.required("first_seen_ns", row.int))
                d.state = ConnectionState(rawValue: row["state"].text) ?? .unknown
                d.stateSinceNanos = try row.required("state_since_ns", row.int)
                d.cleanOffline = row.bool("clean_offline")
                d.lastSeenNanos = try row.required("last_seen_ns", row.int)
                d.version = row.string("version")
                if let first = row.optionalSeq("birth_first_seq") {
                    d.lastBirth = Birth(version: d.version, firstSeq: first, startedNanos: row.int("birth_started_ns"))
                }
                d.lastBirthReceivedNanos = row.int("birth_received_ns")
                d.births = try row.required("births", row.int)
                d.messages = try row.required("messages", row.int)
                d.stored = try row.required("stored", row.int)
                let healthSeqs = (row.string("health_seqs") ?? "").split(separator: ",").compactMap { UInt64($0) }
                func count(_ c: String) throws -> Int64 { try row.required(c, row.int) }
                d.ledger = SeqLedger(
                    floor: row.optionalSeq("seq_floor"), next: row.optionalSeq("seq_next"), gaps: gapsByDevice[name] ?? [],
                    runStart: row.optionalSeq("run_start"), healthSeqs: healthSeqs, cleanStopSeq: row.optionalSeq("clean_stop_seq"),
                    counts: (try count("filled"), try count("recovered"), try count("duplicates"), try count("before_history"),
                             try count("lost"), try count("skipped")),
                    resets: try count("seq_resets"))
                return d
            }
            let episodes = try db.fetch("SELECT * FROM open_episodes").map { row in
                OpenEpisode(key: EpisodeKey(device: try row.required("device", row.string), subject: try row.required("subject", row.string),
                                            episode: try row.required("episode", row.int)),
                            startSeq: try row.seq("start_seq"), startedNanos: try row.required("started_ns", row.int),
                            detector: try row.required("detector", row.string), z: row.double("z"))
            }
            let health = try db.fetch("SELECT * FROM health_problems").map { row in
                OpenHealthProblem(key: HealthKey(device: try row.required("device", row.string), channel: try row.required("channel", row.string),
                                                 check: try row.required("check_name", row.string)),
                                  startSeq: try row.seq("start_seq"), startedNanos: try row.required("started_ns", row.int))
            }
            let sources = try db.fetch("SELECT * FROM sources").map { row in
                SourceStatus(key: SourceKey(device: try row.required("device", row.string), source: try row.required("source", row.string)),
                             up: try row.required("up", row.bool), sinceNanos: try row.required("since_ns", row.int),
                             path: try row.required("path", row.string), reason: try row.required("reason", row.string),
                             seq: try row.seq("seq"))
            }
            var rejections: [String: Int64] = [:]
            for row in try db.fetch("SELECT name, value FROM counters WHERE name LIKE 'rejected.%'") {
                let name = try row.required("name", row.string)
                rejections[String(name.dropFirst("rejected.".count))] = row.int("value") ?? 0
            }
            return FleetState(decoder: decoder, devices: devices, openEpisodes: episodes, openHealth: health,
                              sources: sources, rejections: rejections)
        }
    }
}

extension SQLRow {
    /// Sequence numbers are stored as BIGINT.
    func seq(_ column: String) throws -> UInt64 { UInt64(bitPattern: try required(column, int)) }
    func optionalSeq(_ column: String) -> UInt64? { int(column).map { UInt64(bitPattern: $0) } }
}
