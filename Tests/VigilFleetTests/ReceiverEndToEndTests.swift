import Foundation
import Testing
import VigilTestSupport

/// The real `vigil-fleet` between a real mosquitto and its SQLite file: messages published with
/// `mosquitto_pub`, the database read back exactly.
@Suite(.serialized) struct ReceiverEndToEndTests {
    static func receiver(_ broker: MosquittoBroker, _ db: TemporaryDatabase, clientID: String, extra: [String] = []) throws -> FleetReceiverProcess {
        try FleetReceiverProcess(["--broker", "mqtt://127.0.0.1:\(broker.port)", "--db", db.path, "--client-id", clientID] + extra)
    }

    @Test func storesEachEventOnceAndClassifiesLossSkipAndBadInput() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        let fleet = try Self.receiver(broker, db, clientID: "fleet-e2e-1")
        func pub(_ topic: String, _ payload: String, retain: Bool = false) throws {
            try mqttPublish(port: broker.port, topic: "vigil/" + topic, payload: payload, retain: retain)
        }
        try pub("gw-1/status", FleetPayloads.birth("gw-1", first: 1), retain: true)
        try pub("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 1))
        try pub("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 2, "start"))
        try pub("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 2, "start"))     // duplicate
        // 3 is dropped on purpose.
        try pub("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 4))
        try pub("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 5, "end"))
        try pub("gw-1/health", FleetPayloads.agent("gw-1", 6, outbox: 1))
        try pub("gw-1/health/temperature", FleetPayloads.health("gw-1", 7, "start"))
        try pub("gw-1/health/temperature", FleetPayloads.health("gw-1", 7, "start"))     // duplicate
        try pub("gw-1/health", FleetPayloads.agent("gw-1", 8, outbox: 0))               // 3 is lost now
        try pub("gw-1/status", FleetPayloads.will("gw-1"), retain: true)
        try pub("gw-1/status", FleetPayloads.birth("gw-1", first: 1001), retain: true)   // 9…1000 skipped
        try pub("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 1001))
        try pub("gw-1/anomaly/humidity", FleetPayloads.anomaly("gw-1", 1002, "start", channel: "humidity"))
        try pub("gw-1/health/temperature", FleetPayloads.health("gw-1", 1003, "start", check: "dropout"))
        // Bad input: not JSON, a future schema, names with HTML and SQL in them, 10 MB, a topic not Vigil's.
        try pub("gw-1/summary/temperature", "not json")
        try pub("gw-1/health", FleetPayloads.agent("gw-1", 1004, outbox: 0).replacingOccurrences(of: "\"v\":1", with: "\"v\":2"))
        try pub("<img src=x onerror=alert(1)>/status", "online")
        try pub("gw';DROP TABLE events;--/status", "online")
        let big = db.directory.appendingPathComponent("big").path
        try Data(repeating: UInt8(ascii: "x"), count: 10 * 1024 * 1024).write(to: URL(fileURLWithPath: big))
        try mqttPublishFile(port: broker.port, topic: "vigil/gw-1/summary/temperature", file: big)
        try pub("gw-1/telemetry/x", "{}")

        #expect(try waitUntil(timeout: 20) { try db.rows("SELECT value FROM counters WHERE name = 'received'") == [["21"]] }, "\(fleet.stderr)")
        #expect(try db.rows("SELECT seq, kind, event, subject FROM events WHERE device = 'gw-1' ORDER BY seq") == [
            ["1", "summary", "", "temperature"], ["2", "anomaly", "start", "temperature"], ["4", "summary", "", "temperature"],
            ["5", "anomaly", "end", "temperature"], ["6", "agent", "", ""], ["7", "health", "start", "temperature"],
            ["8", "agent", "", ""], ["1001", "summary", "", "temperature"], ["1002", "anomaly", "start", "humidity"],
            ["1003", "health", "start", "temperature"],
        ])
        #expect(try db.rows("SELECT count(*) FROM events") == [["10"]])
        #expect(try db.rows("SELECT device, state, births, version, messages, stored, duplicates, lost, skipped, open_seqs FROM devices")
                == [["gw-1", "online", "2", "0.1.0", "12", "10", "2", "1", "992", "0"]])
        #expect(try db.rows("SELECT first_seq, last_seq, state FROM gaps WHERE device = 'gw-1' ORDER BY first_seq")
                == [["3", "3", "lost"], ["9", "1000", "skipped"]])
        // The killed run's stuck sensor was closed by the new run's birth; the new run's problems stay open.
        #expect(try db.rows("SELECT subject, episode, start_seq FROM open_episodes") == [["humidity", "1", "1002"]])
        #expect(try db.rows("SELECT channel, check_name, start_seq FROM health_problems") == [["temperature", "dropout", "1003"]])
        #expect(try db.rows("SELECT name, value FROM counters WHERE name LIKE 'rejected.%' ORDER BY name") == [
            ["rejected.bad_name", "2"], ["rejected.foreign_topic", "1"], ["rejected.malformed_json", "1"],
            ["rejected.oversized", "1"], ["rejected.unsupported_version", "1"],
        ])
        // Logged once per kind, the device-supplied topic escaped.
        #expect(fleet.stderr.contains("rejected message on 'vigil/<img src=x onerror=alert(1)>/status': device is not a valid name (bad_name, 1 so far)"))
        #expect(!fleet.stderr.contains("(bad_name, 2 so far)"))
        fleet.stop()
        #expect(fleet.exitStatus == 0)
        #expect(fleet.stderr.contains("vigil-fleet stopped"))
    }

    /// The receiver SIGKILLed in the middle of a stream and started again with the same client id: the broker
    /// keeps the session, so what was not acknowledged comes again; nothing is lost, nothing stored twice.
    @Test func receiverKilledMidStreamLosesNothingAndStoresNothingTwice() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        var fleet = try Self.receiver(broker, db, clientID: "fleet-kill", extra: ["--max-batch", "50"])
        let total = 20_000
        let lines = (1...total).map { FleetPayloads.summary("gw-k", UInt64($0)) }.joined(separator: "\n") + "\n"
        let file = db.directory.appendingPathComponent("stream").path
        try lines.write(toFile: file, atomically: true, encoding: .utf8)
        let publisher = try LinePublisher(port: broker.port, topic: "vigil/gw-k/summary/temperature", file: file)
        func stored() throws -> Int { Int(try db.rows("SELECT count(*) FROM events")[0][0])! }
        #expect(try waitUntil(timeout: 30) { try stored() >= 2000 })
        fleet.kill()
        let atKill = try stored()
        #expect(atKill < total, "the stream ended before the kill: \(atKill)")
        #expect(try publisher.wait(timeout: 60) == 0)
        fleet = try Self.receiver(broker, db, clientID: "fleet-kill", extra: ["--max-batch", "50"])
        let complete = try waitUntil(timeout: 60) { try stored() == total }
        let count = try stored()
        #expect(complete, "stored \(count) of \(total)\n\(fleet.stderr)")
        #expect(try db.rows("SELECT count(DISTINCT seq), min(seq), max(seq) FROM events WHERE device = 'gw-k'") == [["\(total)", "1", "\(total)"]])
        #expect(try db.rows("SELECT count(*) FROM gaps") == [["0"]])
        #expect(try db.rows("SELECT stored, lost, open_seqs, before_history FROM devices") == [["\(total)", "0", "0", "0"]])
        // Redelivered copies (committed, PUBACK not yet sent at the kill) are counted by the ledger, not stored.
        let counts = try db.rows("SELECT messages, duplicates FROM devices")[0].map { Int($0)! }
        #expect(counts[0] == total + counts[1])
        #expect(try db.rows("SELECT count(*) FROM counters WHERE name = 'conflicts'") == [["0"]])
        #expect(try db.rows("SELECT summaries, count FROM summaries_hourly") == [["\(total)", "\(60 * total)"]])
        fleet.stop()
    }

    /// The broker restarted (persistent, so it keeps the receiver's session): the receiver reconnects by
    /// itself and what was published while it was away arrives.
    @Test func theReceiverReconnectsAfterABrokerRestart() throws {
        let broker = try MosquittoBroker(persistent: true)
        let db = try TemporaryDatabase()
        let fleet = try Self.receiver(broker, db, clientID: "fleet-reconnect")
        func pub(_ seq: UInt64) throws {
            try mqttPublish(port: broker.port, topic: "vigil/gw-r/summary/temperature", payload: FleetPayloads.summary("gw-r", seq))
        }
        for seq: UInt64 in 1...3 { try pub(seq) }
        #expect(try waitUntil(timeout: 10) { try db.rows("SELECT count(*) FROM events") == [["3"]] })
        try broker.restart()
        for seq: UInt64 in 4...6 { try pub(seq) }
        #expect(try waitUntil(timeout: 20) { try db.rows("SELECT count(*) FROM events") == [["6"]] }, "\(fleet.stderr)")
        // A PUBACK still on its way when the broker stopped means that message comes again: counted, not stored.
        #expect(try db.rows("SELECT stored, messages - duplicates, open_seqs FROM devices") == [["6", "6", "0"]])
        #expect(fleet.stderr.contains("session present: yes"))
    }

    @Test func aSharedSubscriptionGroupReceivesToo() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        let fleet = try Self.receiver(broker, db, clientID: "fleet-g1", extra: ["--group", "fleet"])
        #expect(fleet.stderr.contains("subscribed to $share/fleet/vigil/+/# (qos 1)"))
        try mqttPublish(port: broker.port, topic: "vigil/gw-2/summary/t", payload: FleetPayloads.summary("gw-2", 7, channel: "t"))
        #expect(try waitUntil(timeout: 10) { try db.rows("SELECT device, seq FROM events") == [["gw-2", "7"]] })
    }

    @Test func badOptionsExit78() throws {
        for args in [["--broker", "tcp://x"], ["--retention", "soon"], ["--group", "a/b"], ["--nonsense"], ["--max-batch", "0"]] {
            let p = try FleetReceiverProcess(args + ["--db", "/nonexistent/fleet.db"], waitForSubscription: false)
            #expect(p.waitForExit(timeout: 10))
            #expect(p.exitStatus == 78, "\(args): \(p.stderr)")
        }
        let db = try FleetReceiverProcess(["--db", "/nonexistent/dir/fleet.db"], waitForSubscription: false)
        #expect(db.waitForExit(timeout: 10))
        #expect(db.exitStatus == 78)
        #expect(db.stderr.contains("cannot open the fleet database /nonexistent/dir/fleet.db"))
    }
}
