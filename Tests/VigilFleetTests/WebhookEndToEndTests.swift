import Foundation
import Testing
import VigilTestSupport

/// The real `vigil-fleet` → a real HTTP server on loopback: exact bodies, retries, exactly one delivery of each
/// alert across a SIGKILL of the receiver, and a SIGKILLed gateway's offline alert.
@Suite(.serialized) struct WebhookEndToEndTests {
    static func receiver(_ broker: MosquittoBroker, _ db: TemporaryDatabase, _ hook: WebhookServer, id: String,
                         _ extra: [String] = []) throws -> FleetReceiverProcess {
        try FleetReceiverProcess(["--broker", "mqtt://127.0.0.1:\(broker.port)", "--db", db.path, "--client-id", id,
                                  "--webhook", hook.url] + extra)
    }
    static func pub(_ broker: MosquittoBroker, _ topic: String, _ payload: String, retain: Bool = false) throws {
        try mqttPublish(port: broker.port, topic: "vigil/" + topic, payload: payload, retain: retain)
    }

    @Test func oneAnomalyStartAndEndExactBodiesWithTheSecretHeader() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        let hook = try WebhookServer()
        let secret = db.directory.appendingPathComponent("webhook-header").path
        try "Authorization: Bearer s3cret\n".write(toFile: secret, atomically: true, encoding: .utf8)
        let fleet = try Self.receiver(broker, db, hook, id: "fleet-hook-bodies", ["--webhook-header-file", secret])
        try Self.pub(broker, "gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 5, "start", episode: 2))
        try Self.pub(broker, "gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 6, "end", episode: 2, at: "2026-11-23T11:40:04.123Z"))
        #expect(waitUntil(timeout: 60) { hook.requests.count >= 2 }, "\(fleet.stderr)")
        let r = hook.requests
        #expect(r.map(\.body) == [
            #"{"schema":1,"id":"gw-1/anomaly/temperature/2/5/start","kind":"anomaly","phase":"start","device":"gw-1","subject":"temperature","name":"zscore","episode":2,"seq":5,"starts_at":"2026-11-23T11:40:00.123Z"}"#,
            #"{"schema":1,"id":"gw-1/anomaly/temperature/2/5/end","kind":"anomaly","phase":"end","device":"gw-1","subject":"temperature","name":"zscore","episode":2,"seq":6,"starts_at":"2026-11-23T11:40:00.123Z","ends_at":"2026-11-23T11:40:04.123Z","reason":"recovered"}"#,
        ])
        #expect(r.map(\.method) == ["POST", "POST"])
        #expect(r.map(\.path) == ["/hook", "/hook"])
        #expect(r.map { $0.headers["authorization"] } == ["Bearer s3cret", "Bearer s3cret"])
        #expect(r.map { $0.headers["content-type"] } == ["application/json", "application/json"])
        #expect(try waitUntil(timeout: 60) { try db.rows("SELECT delivery, count(*) FROM alerts GROUP BY delivery") == [["delivered", "2"]] })
        fleet.stop()
        #expect(!fleet.stderr.contains("s3cret"))
        #expect(hook.requests.count == 2)
    }

    @Test func aReceiverKilledMidDeliverySendsEachAlertOnce() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        let hook = try WebhookServer(answer: 500)
        let first = try Self.receiver(broker, db, hook, id: "fleet-hook-restart", ["--webhook-mode", "alertmanager"])
        try Self.pub(broker, "gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start"))
        try Self.pub(broker, "gw-1/health/temperature", FleetPayloads.health("gw-1", 2, "start"))
        try Self.pub(broker, "gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 3, "end"))
        // Retrying the first alert (500, backoff): all three are stored pending.
        #expect(waitUntil(timeout: 60) { hook.requests.count >= 2 }, "\(first.stderr)")
        #expect(try waitUntil(timeout: 60) { try db.rows("SELECT count(*) FROM alerts WHERE delivery = 'pending'") == [["3"]] })
        first.kill()
        hook.answer(200)
        let second = try Self.receiver(broker, db, hook, id: "fleet-hook-restart", ["--webhook-mode", "alertmanager"])
        #expect(try waitUntil(timeout: 60) { try db.rows("SELECT delivery, count(*) FROM alerts GROUP BY delivery") == [["delivered", "3"]] },
                "\(second.stderr)")
        second.stop()
        let ok = hook.requests.filter { $0.status == 200 }
        let ids = ok.map { body in
            (try? JSONSerialization.jsonObject(with: Data(body.body.utf8)) as? [[String: Any]])?.first
                .flatMap { ($0["annotations"] as? [String: Any])?["vigil_id"] as? String } ?? "?"
        }
        #expect(ids == ["gw-1/anomaly/temperature/1/1/start", "gw-1/health/temperature/stuck/2/start", "gw-1/anomaly/temperature/1/1/end"])
        #expect(hook.requests.filter { $0.status == 500 }.allSatisfy { $0.body.contains("gw-1/anomaly/temperature/1/1/start") })
        #expect(second.stderr.contains("3 alerts pending for http://127.0.0.1:\(hook.port)/hook from before the restart"))
    }

    @Test func aKilledGatewayRaisesOfflineAndItsReturnResolvesIt() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        let hook = try WebhookServer()
        let fleet = try Self.receiver(broker, db, hook, id: "fleet-hook-offline")
        let gateway = try MQTTWillClient(port: broker.port, clientID: "gw-9", willTopic: "vigil/gw-9/status", willPayload: FleetPayloads.will("gw-9"))
        try gateway.waitConnected()
        try Self.pub(broker, "gw-9/status", FleetPayloads.birth("gw-9", first: 1), retain: true)
        #expect(try waitUntil(timeout: 60) { try db.rows("SELECT state FROM devices WHERE device = 'gw-9'") == [["online"]] })
        gateway.kill()
        #expect(waitUntil(timeout: 60) { hook.requests.count >= 1 }, "\(fleet.stderr)")
        let since = try db.rows("SELECT state, state_since_ns FROM devices WHERE device = 'gw-9'")
        #expect(since.first?.first == "offline")
        let ns = since.first?.last ?? "?"
        try Self.pub(broker, "gw-9/status", FleetPayloads.birth("gw-9", first: 1001), retain: true)
        #expect(waitUntil(timeout: 60) { hook.requests.count >= 2 }, "\(fleet.stderr)")
        let bodies = hook.requests.map(\.body)
        let offlineAt = bodies.first.flatMap { b in b.range(of: #""starts_at":""#).map { String(b[$0.upperBound...].prefix(24)) } } ?? ""
        #expect(bodies.first == #"{"schema":1,"id":"gw-9/offline/\#(ns)/start","kind":"offline","phase":"start","device":"gw-9","subject":"","name":"lost","starts_at":"\#(offlineAt)"}"#)
        #expect(bodies.dropFirst().first?.hasPrefix(#"{"schema":1,"id":"gw-9/offline/\#(ns)/end","kind":"offline","phase":"end","device":"gw-9","subject":"","name":"lost","starts_at":"\#(offlineAt)","ends_at":""#) == true)
        #expect(bodies.dropFirst().first?.hasSuffix(#"","reason":"online"}"#) == true)
        fleet.stop()
        #expect(hook.requests.count == 2)
    }

    @Test func badWebhookOptionsExit78NamingEach() throws {
        let fleet = try FleetReceiverProcess(["--db", "/nonexistent/fleet.db", "--webhook", "https://hooks.example/x",
                                              "--webhook-mode", "pagerduty", "--webhook-header-file", "/nonexistent/header"],
                                             waitForSubscription: false)
        #expect(fleet.waitForExit(timeout: 60))
        #expect(fleet.exitStatus == 78)
        #expect(fleet.stderr == """
            --webhook-mode: 'pagerduty' is not vigil or alertmanager
            --webhook: https is not supported yet: give an http:// URL (a TLS-terminating relay on loopback)
            """)
    }
}
