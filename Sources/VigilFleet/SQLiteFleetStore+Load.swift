import GRDB
import VigilFleetCore

extension SQLiteFleetStore {
    public func loadState(decoder: MessageDecoder) throws -> FleetState {
        try pool.read { db in
            var gapsByDevice: [String: [Gap]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT device, first_seq, last_seq, state, opened_ns FROM gaps ORDER BY device, first_seq") {
                guard let state = Gap.State(rawValue: row["state"]) else {
                    throw FleetStoreError("\(path): gap of \(row["device"] as String) has state '\(row["state"] as String)'")
                }
                gapsByDevice[row["device"], default: []].append(
                    Gap(first: UInt64(row["first_seq"] as Int64), last: UInt64(row["last_seq"] as Int64), state: state,
                        openedNanos: row["opened_ns"]))
            }
            func seq(_ v: Int64?) -> UInt64? { v.map { UInt64($0) } }
            let devices = try Row.fetchAll(db, sql: "SELECT * FROM devices").map { row -> DeviceRecord in
                let name: String = row["device"]
                var d = DeviceRecord(device: name, now: row["first_seen_ns"])
                d.state = ConnectionState(rawValue: row["state"]) ?? .unknown
                d.stateSinceNanos = row["state_since_ns"]
                d.cleanOffline = row["clean_offline"]
                d.lastSeenNanos = row["last_seen_ns"]
                d.version = row["version"]
                if let first: Int64 = row["birth_first_seq"] {
                    d.lastBirth = Birth(version: d.version, firstSeq: UInt64(first), startedNanos: row["birth_started_ns"])
                }
                d.lastBirthReceivedNanos = row["birth_received_ns"]
                d.births = row["births"]
                d.messages = row["messages"]
                d.stored = row["stored"]
                let healthSeqs = (row["health_seqs"] as String).split(separator: ",").compactMap { UInt64($0) }
                d.ledger = SeqLedger(
                    floor: seq(row["seq_floor"]), next: seq(row["seq_next"]), gaps: gapsByDevice[name] ?? [],
                    runStart: seq(row["run_start"]), healthSeqs: healthSeqs, cleanStopSeq: seq(row["clean_stop_seq"]),
                    counts: (row["filled"], row["recovered"], row["duplicates"], row["before_history"], row["lost"], row["skipped"]),
                    resets: row["seq_resets"])
                return d
            }
            let episodes = try Row.fetchAll(db, sql: "SELECT * FROM open_episodes").map { row in
                OpenEpisode(key: EpisodeKey(device: row["device"], subject: row["subject"], episode: row["episode"]),
                            startSeq: UInt64(row["start_seq"] as Int64), startedNanos: row["started_ns"],
                            detector: row["detector"], z: row["z"])
            }
            let health = try Row.fetchAll(db, sql: "SELECT * FROM health_problems").map { row in
                OpenHealthProblem(key: HealthKey(device: row["device"], channel: row["channel"], check: row["check_name"]),
                                  startSeq: UInt64(row["start_seq"] as Int64), startedNanos: row["started_ns"])
            }
            let sources = try Row.fetchAll(db, sql: "SELECT * FROM sources").map { row in
                SourceStatus(key: SourceKey(device: row["device"], source: row["source"]), up: row["up"],
                             sinceNanos: row["since_ns"], path: row["path"], reason: row["reason"],
                             seq: UInt64(row["seq"] as Int64))
            }
            var rejections: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, value FROM counters WHERE name LIKE 'rejected.%'") {
                rejections[String((row["name"] as String).dropFirst("rejected.".count))] = row["value"]
            }
            return FleetState(decoder: decoder, devices: devices, openEpisodes: episodes, openHealth: health,
                              sources: sources, rejections: rejections)
        }
    }

    /// The receiver's counters (`received`, `conflicts`, `rejected.<code>`).
    public func counters() throws -> [String: Int64] {
        try pool.read { db in
            var out: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, value FROM counters") { out[row["name"]] = row["value"] }
            return out
        }
    }
}
